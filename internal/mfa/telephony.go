package mfa

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Daily telephony caps (Settings.TelephonyDailyUserLimit and
// TelephonyDailyLimit): every SMS (a passcode batch, an activation or
// installation link) and every phone call counts one against the user's
// cap and one against the account's, per UTC day. The counters are
// durable rate-limit counters in the store, each hit one atomic
// conditional write, so the caps hold across any number of nodes: of N
// concurrent sends at most the cap go out. A send is counted before it is
// tried (so a send the carrier then refuses still counts); a hit refused
// by the account cap has already counted against the user's.

// Messages of refused sends.
const (
	MsgUserTelephonyCap    = "daily limit of SMS and phone calls reached for this user; try another method or contact your help desk"
	MsgAccountTelephonyCap = "daily limit of SMS and phone calls reached for this account; try another method or contact your help desk"
)

// HitTelephonyCaps counts one SMS or call for userID (empty: a send for
// no user, counted against the account only) at now, and returns a
// RateLimited error naming the cap when the send would exceed one; its
// RetryAfter is the time until the next UTC midnight. Caps of 0 are off
// and count nothing.
func HitTelephonyCaps(ctx context.Context, rl RateLimitStore, st Settings, userID string, now time.Time) error {
	day := now.UTC().Format(time.DateOnly)
	untilMidnight := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)
	if untilMidnight <= 0 {
		untilMidnight = time.Second
	}
	caps := []struct {
		limit int
		key   string
		msg   string
	}{
		{st.TelephonyDailyUserLimit, "telephony:user:" + userID + ":" + day, MsgUserTelephonyCap},
		{st.TelephonyDailyLimit, "telephony:account:" + day, MsgAccountTelephonyCap},
	}
	for i, c := range caps {
		if c.limit <= 0 || (i == 0 && userID == "") {
			continue
		}
		r, err := rl.HitRateLimit(ctx, c.key, c.limit, 24*time.Hour, now)
		if err != nil {
			return fmt.Errorf("telephony cap: %w", err)
		}
		if !r.Allowed {
			return RetryLater(c.msg, untilMidnight)
		}
	}
	return nil
}

// telephonyStatusRanks is the lifecycle of an SMS or call, in Twilio's
// status words (the webhook carrier's outcomes map onto them): a status
// may replace only one of a lower rank. Rank 4 is final.
var telephonyStatusRanks = map[string]int{
	"accepted": 1, "scheduled": 1, "queued": 1,
	"sending": 2, "initiated": 2, "ringing": 2,
	"sent": 3, "in-progress": 3,
	"delivered": 4, "undelivered": 4, "failed": 4, "completed": 4, "busy": 4, "no-answer": 4, "canceled": 4,
}

// TelephonyStatusRank is status's place in the lifecycle queued (1) <
// sending, initiated, ringing (2) < sent, in-progress (3) < delivered,
// undelivered, failed, completed, busy, no-answer, canceled (4, final);
// accepted and scheduled (a messaging service's) rank with queued. ok is
// false for any other word.
func TelephonyStatusRank(status string) (rank int, ok bool) {
	rank, ok = telephonyStatusRanks[status]
	return rank, ok
}

// TelephonyStatuses lists every status TelephonyStatusRank knows, sorted.
func TelephonyStatuses() []string {
	out := make([]string, 0, len(telephonyStatusRanks))
	for s := range telephonyStatusRanks {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// CheckTelephonyStatus is the argument check of SetTelephonyStatus every
// store shares; it returns status's rank.
func CheckTelephonyStatus(carrierID, status string) (int, error) {
	if carrierID == "" {
		return 0, InvalidField("carrier_id", "a carrier id is required")
	}
	rank, ok := TelephonyStatusRank(status)
	if !ok {
		return 0, InvalidField("status", fmt.Sprintf("unknown telephony status %q", status))
	}
	return rank, nil
}
