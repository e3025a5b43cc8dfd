package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func applyAuthTests() []storeTest {
	return []storeTest{
		{"HOTPCounter", counterGuardTest(hotpGuard)},
		{"TOTPStep", counterGuardTest(totpGuard)},
		{"TokenCounter", counterGuardTest(tokenCounterGuard)},
		{"TokenStep", counterGuardTest(tokenStepGuard)},
		{"YubiKeyCounter", counterGuardTest(yubiKeyGuard)},
		{"BypassCode", testApplyBypassCode},
		{"BypassUnlimited", testApplyBypassUnlimited},
		{"BypassExpired", testApplyBypassExpired},
		{"BypassWrongUser", testApplyBypassWrongUser},
		{"FailedGuardWritesNothing", testApplyFailedGuard},
		{"UnknownGuardID", testApplyUnknownGuardID},
		{"Success", testApplySuccess},
		{"CountFailure", testApplyCountFailure},
		{"CountFailureNoThreshold", testApplyCountFailureNoThreshold},
		{"CountFailureNotActive", testApplyCountFailureNotActive},
		{"Log", testApplyLog},
		{"HOTPConcurrent", counterGuardConcurrentTest(hotpGuard)},
		{"TOTPConcurrent", counterGuardConcurrentTest(totpGuard)},
		{"TokenCounterConcurrent", counterGuardConcurrentTest(tokenCounterGuard)},
		{"TokenStepConcurrent", counterGuardConcurrentTest(tokenStepGuard)},
		{"YubiKeyConcurrent", counterGuardConcurrentTest(yubiKeyGuard)},
		{"BypassConcurrent", testApplyBypassConcurrent},
		{"SMSConcurrent", testApplySMSConcurrent},
		{"CountFailureConcurrent", testApplyCountFailureConcurrent},
	}
}

// counterGuard describes one counter guard: how to make an object whose
// stored value is start, how to read the stored value back, and how to ask
// for value v.
type counterGuard struct {
	kind  mfa.GuardKind
	start int64
	setup func(t *testing.T, s mfa.Store, start int64) string
	read  func(t *testing.T, s mfa.Store, id string) int64
	guard func(id string, v int64, now time.Time) mfa.Guard
	steps []guardStep
}

// guardStep asks for give; wantOK says whether the guard accepts it, and
// want is the stored value afterwards.
type guardStep struct {
	give   int64
	wantOK bool
	want   int64
}

// counterSteps are the steps of a guard that accepts the next counter and
// above (HOTP): the stored value is the next acceptable counter.
var counterSteps = []guardStep{
	{4, false, 5},
	{5, true, 6},
	{5, false, 6},
	{6, true, 7},
	{20, true, 21},
	{19, false, 21},
	{20, false, 21},
	{21, true, 22},
}

// stepSteps are the steps of a guard that accepts only values above the
// stored last one (TOTP steps, YubiKey counters).
var stepSteps = []guardStep{
	{5, false, 5},
	{4, false, 5},
	{6, true, 6},
	{6, false, 6},
	{10, true, 10},
	{9, false, 10},
	{11, true, 11},
}

var hotpGuard = counterGuard{
	kind:  mfa.GuardAuthenticatorCounter,
	start: 5,
	setup: func(t *testing.T, s mfa.Store, start int64) string {
		return NewAuthenticator(t, s, NewPhone(t, s).ID, func(a *mfa.Authenticator) { a.HOTPCounter = uint64(start) }).ID
	},
	read: func(t *testing.T, s mfa.Store, id string) int64 { return int64(getAuthenticator(t, s, id).HOTPCounter) },
	guard: func(id string, v int64, now time.Time) mfa.Guard {
		return mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: id, Counter: uint64(v), Now: now}
	},
	steps: counterSteps,
}

var totpGuard = counterGuard{
	kind:  mfa.GuardAuthenticatorStep,
	start: 5,
	setup: func(t *testing.T, s mfa.Store, start int64) string {
		return NewAuthenticator(t, s, NewPhone(t, s).ID, func(a *mfa.Authenticator) { a.TOTP, a.TOTPLastStep = true, start }).ID
	},
	read: func(t *testing.T, s mfa.Store, id string) int64 { return getAuthenticator(t, s, id).TOTPLastStep },
	guard: func(id string, v int64, now time.Time) mfa.Guard {
		return mfa.Guard{Kind: mfa.GuardAuthenticatorStep, ID: id, Step: v, Now: now}
	},
	steps: stepSteps,
}

var tokenCounterGuard = counterGuard{
	kind:  mfa.GuardTokenCounter,
	start: 5,
	setup: func(t *testing.T, s mfa.Store, start int64) string {
		return NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Counter = uint64(start) }).ID
	},
	read: func(t *testing.T, s mfa.Store, id string) int64 { return int64(getToken(t, s, id).Counter) },
	guard: func(id string, v int64, now time.Time) mfa.Guard {
		return mfa.Guard{Kind: mfa.GuardTokenCounter, ID: id, Counter: uint64(v), Now: now}
	},
	steps: counterSteps,
}

var tokenStepGuard = counterGuard{
	kind:  mfa.GuardTokenStep,
	start: 5,
	setup: func(t *testing.T, s mfa.Store, start int64) string {
		return NewToken(t, s, mfa.TokenT6, func(tk *mfa.Token) { tk.LastStep = start }).ID
	},
	read: func(t *testing.T, s mfa.Store, id string) int64 { return getToken(t, s, id).LastStep },
	guard: func(id string, v int64, now time.Time) mfa.Guard {
		return mfa.Guard{Kind: mfa.GuardTokenStep, ID: id, Step: v, Now: now}
	},
	steps: stepSteps,
}

var yubiKeyGuard = counterGuard{
	kind:  mfa.GuardYubiKeyCounter,
	start: 5,
	setup: func(t *testing.T, s mfa.Store, start int64) string {
		return NewToken(t, s, mfa.TokenYK, func(tk *mfa.Token) { tk.YKCounter = uint32(start) }).ID
	},
	read: func(t *testing.T, s mfa.Store, id string) int64 { return int64(getToken(t, s, id).YKCounter) },
	guard: func(id string, v int64, now time.Time) mfa.Guard {
		return mfa.Guard{Kind: mfa.GuardYubiKeyCounter, ID: id, Counter: uint64(v), Now: now}
	},
	steps: stepSteps,
}

// newLogEntry returns an auth log record of userID at when with every field set.
func newLogEntry(t *testing.T, userID string, when time.Time) mfa.AuthLogEntry {
	t.Helper()
	return mfa.AuthLogEntry{
		TxID:            NewTxID(t),
		Time:            when,
		EventType:       "authentication",
		UserID:          userID,
		Username:        "user-" + userID,
		IKey:            "DIXXXXXXXXXXXXXXXXXX",
		IntegrationName: "Test App",
		Factor:          "passcode",
		Result:          mfa.ResultSuccess,
		Reason:          "valid_passcode",
		IP:              "192.0.2.1",
		Hostname:        "host.example",
		DeviceID:        "DPXXXXXXXXXXXXXXXXXX",
		DeviceName:      "phone",
	}
}

// newLogEntries returns n records of userID at when, with distinct txids.
func newLogEntries(t *testing.T, userID string, when time.Time, n int) []mfa.AuthLogEntry {
	t.Helper()
	entries := make([]mfa.AuthLogEntry, n)
	for i := range entries {
		entries[i] = newLogEntry(t, userID, when)
	}
	return entries
}

// authLog lists every auth log record in ascending order.
func authLog(t *testing.T, s mfa.Store) []mfa.AuthLogEntry {
	t.Helper()
	entries, total, err := s.ListAuthLog(t.Context(), mfa.AuthLogFilter{Limit: 10000})
	check(t, "ListAuthLog()", err)
	if total != len(entries) {
		t.Errorf("ListAuthLog() = %d records, total %d, want equal", len(entries), total)
	}
	return entries
}

// counterGuardTest walks g through its steps, each a full login write: the
// guard, Success and a log record, all or nothing.
func counterGuardTest(g counterGuard) func(t *testing.T, s mfa.Store) {
	return func(t *testing.T, s mfa.Store) {
		ctx := t.Context()
		u := NewUser(t, s)
		id := g.setup(t, s, g.start)
		neighbour := g.setup(t, s, g.start)
		if got := g.read(t, s, id); got != g.start {
			t.Fatalf("stored value after setup = %d, want %d", got, g.start)
		}
		var wantLog []mfa.AuthLogEntry
		lastLogin := time.Time{}
		for i, step := range g.steps {
			when := at(time.Duration(i+1) * time.Minute)
			entry := newLogEntry(t, u.ID, when)
			_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: g.guard(id, step.give, when), Success: true, At: when, Log: &entry})
			call := fmt.Sprintf("step %d: ApplyAuth(guard %d, value %d)", i, g.kind, step.give)
			if step.wantOK {
				check(t, call, err)
				wantLog = append(wantLog, entry)
				lastLogin = when
			} else {
				wantKind(t, call, err, mfa.Conflict)
			}
			if got := g.read(t, s, id); got != step.want {
				t.Errorf("%s: stored value = %d, want %d", call, got, step.want)
			}
			if got := getUser(t, s, u.ID).LastLogin; !got.Equal(lastLogin) {
				t.Errorf("%s: LastLogin = %v, want %v", call, got, lastLogin)
			}
		}
		if diff := cmp.Diff(wantLog, authLog(t, s), cmpOpts); diff != "" {
			t.Errorf("auth log: the winners' records and nothing else (-want +got):\n%s", diff)
		}
		if got := g.read(t, s, neighbour); got != g.start {
			t.Errorf("stored value of an untouched neighbour = %d, want %d", got, g.start)
		}
	}
}

// spend uses one bypass code of userID at when, as a successful login.
func spend(t *testing.T, s mfa.Store, userID string, code mfa.Passcode, when time.Time) (mfa.AuthOutcome, error) {
	t.Helper()
	return s.ApplyAuth(t.Context(), mfa.AuthWrite{
		UserID:  userID,
		Guard:   mfa.Guard{Kind: mfa.GuardBypassCode, Code: code, Now: when},
		Success: true,
		At:      when,
	})
}

func testApplyBypassCode(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	codes := newCodes(t, u.ID, 2, func(i int, c *mfa.BypassCode) { c.UsesLeft = 2 })
	createCodes(t, s, u.ID, false, codes)
	c := codes[0]
	for i, wantLeft := range []int{1, 0} {
		when := at(time.Duration(i+1) * time.Minute)
		out, err := spend(t, s, u.ID, c.Code, when)
		check(t, fmt.Sprintf("ApplyAuth(bypass use %d)", i+1), err)
		if out.BypassUsesLeft != wantLeft || out.BypassUnlimited {
			t.Errorf("ApplyAuth(bypass use %d) = uses left %d, unlimited %v; want %d, false", i+1, out.BypassUsesLeft, out.BypassUnlimited, wantLeft)
		}
		got, err := s.GetBypassCode(ctx, c.ID)
		if wantLeft > 0 {
			check(t, "GetBypassCode()", err)
			if got.UsesLeft != wantLeft {
				t.Errorf("GetBypassCode(%s).UsesLeft after use %d = %d, want %d", c.ID, i+1, got.UsesLeft, wantLeft)
			}
		} else {
			wantKind(t, fmt.Sprintf("GetBypassCode(%s) after its last use", c.ID), err, mfa.NotFound)
		}
	}
	_, err := spend(t, s, u.ID, c.Code, at(time.Hour))
	wantKind(t, "ApplyAuth(used-up bypass code)", err, mfa.NotFound)
	if diff := cmp.Diff(stored(codes[1:]), userCodes(t, s, u.ID), cmpOpts); diff != "" {
		t.Errorf("ListBypassCodes(%s) after using a code up (-want +got):\n%s", u.ID, diff)
	}
	_, err = spend(t, s, u.ID, "999999999x", at(time.Hour))
	wantKind(t, "ApplyAuth(unknown bypass code)", err, mfa.NotFound)
	if got := getUser(t, s, u.ID).LastLogin; !got.Equal(at(2 * time.Minute)) {
		t.Errorf("LastLogin = %v, want %v (the last successful use)", got, at(2*time.Minute))
	}
}

func testApplyBypassUnlimited(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	codes := newCodes(t, u.ID, 2, func(i int, c *mfa.BypassCode) { c.Unlimited, c.UsesLeft = true, 5*i })
	createCodes(t, s, u.ID, false, codes)
	for _, c := range codes {
		for i := range 3 {
			out, err := spend(t, s, u.ID, c.Code, at(time.Duration(i)*time.Minute))
			check(t, fmt.Sprintf("ApplyAuth(unlimited bypass use %d)", i+1), err)
			if !out.BypassUnlimited {
				t.Errorf("ApplyAuth(unlimited bypass use %d).BypassUnlimited = false, want true", i+1)
			}
		}
	}
	if diff := cmp.Diff(stored(codes), userCodes(t, s, u.ID), cmpOpts); diff != "" {
		t.Errorf("ListBypassCodes(%s) after using unlimited codes: they never change (-want +got):\n%s", u.ID, diff)
	}
	if _, err := s.GetBypassCode(ctx, codes[0].ID); err != nil {
		t.Errorf("GetBypassCode(unlimited code with UsesLeft 0) = %v, want nil", err)
	}
}

func testApplyBypassExpired(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	codes := newCodes(t, u.ID, 2, func(i int, c *mfa.BypassCode) {
		c.UsesLeft, c.Expires = 5, at(time.Hour)
		if i == 1 {
			c.Unlimited = true
		}
	})
	createCodes(t, s, u.ID, false, codes)
	for _, c := range codes {
		if _, err := spend(t, s, u.ID, c.Code, at(59*time.Minute)); err != nil {
			t.Errorf("ApplyAuth(bypass code before expiry, unlimited %v) = %v, want nil", c.Unlimited, err)
		}
		for _, when := range []time.Time{at(time.Hour), at(2 * time.Hour).UTC()} {
			_, err := spend(t, s, u.ID, c.Code, when)
			wantKind(t, fmt.Sprintf("ApplyAuth(bypass code expiring %v at %v, unlimited %v)", c.Expires, when, c.Unlimited), err, mfa.NotFound)
		}
	}
}

func testApplyBypassWrongUser(t *testing.T, s mfa.Store) {
	alice := NewUser(t, s)
	bob := NewUser(t, s)
	carol := NewUser(t, s)
	codes := newCodes(t, alice.ID, 1, func(_ int, c *mfa.BypassCode) { c.UsesLeft = 2 })
	createCodes(t, s, alice.ID, false, codes)
	same := newCodes(t, carol.ID, 1, func(_ int, c *mfa.BypassCode) { c.Code = codes[0].Code; c.UsesLeft = 2 })
	createCodes(t, s, carol.ID, false, same)

	_, err := spend(t, s, bob.ID, codes[0].Code, at(time.Minute))
	wantKind(t, "ApplyAuth(bob, alice's bypass code)", err, mfa.NotFound)
	if got := getUser(t, s, bob.ID).LastLogin; !got.IsZero() {
		t.Errorf("bob's LastLogin after a refused code = %v, want zero", got)
	}
	// The same code held by alice and carol: alice's use spends only hers.
	if _, err := spend(t, s, alice.ID, codes[0].Code, at(time.Minute)); err != nil {
		t.Errorf("ApplyAuth(alice, her bypass code) = %v, want nil", err)
	}
	for _, tt := range []struct {
		give mfa.BypassCode
		want int
	}{{codes[0], 1}, {same[0], 2}} {
		got, err := s.GetBypassCode(t.Context(), tt.give.ID)
		check(t, "GetBypassCode()", err)
		if got.UsesLeft != tt.want {
			t.Errorf("GetBypassCode(%s of %s).UsesLeft = %d, want %d", tt.give.ID, tt.give.UserID, got.UsesLeft, tt.want)
		}
	}
}

func testApplyFailedGuard(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	hotp := NewAuthenticator(t, s, NewPhone(t, s).ID, func(a *mfa.Authenticator) { a.HOTPCounter = 10 })
	totp := NewAuthenticator(t, s, NewPhone(t, s).ID, func(a *mfa.Authenticator) { a.TOTP, a.TOTPLastStep = true, 10 })
	h6 := NewToken(t, s, mfa.TokenH6, func(tk *mfa.Token) { tk.Counter = 10 })
	t6 := NewToken(t, s, mfa.TokenT6, func(tk *mfa.Token) { tk.LastStep = 10 })
	yk := NewToken(t, s, mfa.TokenYK, func(tk *mfa.Token) { tk.YKCounter = 10 })
	expired := newCodes(t, u.ID, 1, func(_ int, c *mfa.BypassCode) { c.Expires = at(-time.Hour) })
	createCodes(t, s, u.ID, false, expired)
	p := NewPhone(t, s)
	batch := newBatch(t, u.ID, p.ID, 2, time.Time{})
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(ctx, batch))
	if _, err := useSMS(t, s, u.ID, batch.Codes[0], at(time.Minute)); err != nil {
		t.Fatalf("ApplyAuth(SMS code) = %v, want nil", err)
	}
	fail(t, s, u.ID, 3, at(2*time.Minute))
	fail(t, s, u.ID, 3, at(3*time.Minute))
	before := getUser(t, s, u.ID) // one failure short of the threshold
	logBefore := authLog(t, s)

	now := at(time.Hour)
	tests := []struct {
		name  string
		guard mfa.Guard
		want  mfa.Kind
	}{
		{"hotp used", mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: hotp.ID, Counter: 9, Now: now}, mfa.Conflict},
		{"totp used", mfa.Guard{Kind: mfa.GuardAuthenticatorStep, ID: totp.ID, Step: 10, Now: now}, mfa.Conflict},
		{"token counter used", mfa.Guard{Kind: mfa.GuardTokenCounter, ID: h6.ID, Counter: 3, Now: now}, mfa.Conflict},
		{"token step used", mfa.Guard{Kind: mfa.GuardTokenStep, ID: t6.ID, Step: 9, Now: now}, mfa.Conflict},
		{"yubikey replay", mfa.Guard{Kind: mfa.GuardYubiKeyCounter, ID: yk.ID, Counter: 10, Now: now}, mfa.Conflict},
		{"bypass unknown", mfa.Guard{Kind: mfa.GuardBypassCode, Code: "000000000x", Now: now}, mfa.NotFound},
		{"bypass expired", mfa.Guard{Kind: mfa.GuardBypassCode, Code: expired[0].Code, Now: now}, mfa.NotFound},
		{"sms used", mfa.Guard{Kind: mfa.GuardSMSCode, Code: batch.Codes[0], Now: now}, mfa.Conflict},
		{"sms unknown", mfa.Guard{Kind: mfa.GuardSMSCode, Code: "00000000x", Now: now}, mfa.NotFound},
	}
	for _, tt := range tests {
		for _, w := range []mfa.AuthWrite{
			{UserID: u.ID, Guard: tt.guard, Success: true, At: now},
			{UserID: u.ID, Guard: tt.guard, CountFailure: true, Threshold: 3, At: now},
		} {
			entry := newLogEntry(t, u.ID, now)
			w.Log = &entry
			_, err := s.ApplyAuth(ctx, w)
			wantKind(t, fmt.Sprintf("ApplyAuth(%s, success %v, count failure %v)", tt.name, w.Success, w.CountFailure), err, tt.want)
		}
	}
	if diff := cmp.Diff(before, getUser(t, s, u.ID), cmpOpts); diff != "" {
		t.Errorf("user after failed guards: nothing may change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(logBefore, authLog(t, s), cmpOpts); diff != "" {
		t.Errorf("auth log after failed guards: nothing may be added (-want +got):\n%s", diff)
	}
	if got := getAuthenticator(t, s, hotp.ID).HOTPCounter; got != 10 {
		t.Errorf("HOTPCounter after a refused counter = %d, want 10", got)
	}
	if got := getToken(t, s, yk.ID).YKCounter; got != 10 {
		t.Errorf("YKCounter after a replay = %d, want 10", got)
	}
}

func testApplyUnknownGuardID(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	now := at(time.Hour)
	tests := []struct {
		name  string
		guard mfa.Guard
	}{
		{"authenticator counter", mfa.Guard{Kind: mfa.GuardAuthenticatorCounter, ID: NewID(t, mfa.PrefixAuthenticator), Counter: 1, Now: now}},
		{"authenticator step", mfa.Guard{Kind: mfa.GuardAuthenticatorStep, ID: NewID(t, mfa.PrefixAuthenticator), Step: 1, Now: now}},
		{"token counter", mfa.Guard{Kind: mfa.GuardTokenCounter, ID: NewID(t, mfa.PrefixToken), Counter: 1, Now: now}},
		{"token step", mfa.Guard{Kind: mfa.GuardTokenStep, ID: NewID(t, mfa.PrefixToken), Step: 1, Now: now}},
		{"yubikey", mfa.Guard{Kind: mfa.GuardYubiKeyCounter, ID: NewID(t, mfa.PrefixToken), Counter: 1, Now: now}},
	}
	for _, tt := range tests {
		entry := newLogEntry(t, u.ID, now)
		_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: tt.guard, Success: true, At: now, Log: &entry})
		// The contract does not say which; a conditional update that
		// matches no row cannot tell "used" from "missing" for free.
		if !isKind(err, mfa.NotFound) && !isKind(err, mfa.Conflict) {
			t.Errorf("ApplyAuth(%s guard of a missing object) = %v, want a not found or conflict error", tt.name, err)
		}
	}
	if got := getUser(t, s, u.ID).LastLogin; !got.IsZero() {
		t.Errorf("LastLogin after refused guards = %v, want zero", got)
	}
	if got := authLog(t, s); len(got) != 0 {
		t.Errorf("auth log after refused guards = %d records, want 0", len(got))
	}
}

func testApplySuccess(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	other := NewUser(t, s)
	fail(t, s, u.ID, 10, at(time.Minute))
	fail(t, s, u.ID, 10, at(time.Minute))
	fail(t, s, other.ID, 10, at(time.Minute))
	out, err := s.ApplyAuth(t.Context(), mfa.AuthWrite{UserID: u.ID, Success: true, At: at(time.Hour)})
	check(t, "ApplyAuth(Success)", err)
	if out != (mfa.AuthOutcome{}) {
		t.Errorf("ApplyAuth(Success) = %+v, want a zero outcome", out)
	}
	got := getUser(t, s, u.ID)
	if got.FailedAttempts != 0 || !got.LastLogin.Equal(at(time.Hour)) || got.Status != mfa.StatusActive {
		t.Errorf("user after Success = %d failures, LastLogin %v, status %q; want 0, %v, active", got.FailedAttempts, got.LastLogin, got.Status, at(time.Hour))
	}
	if got := getUser(t, s, other.ID); got.FailedAttempts != 1 || !got.LastLogin.IsZero() {
		t.Errorf("other user after Success = %d failures, LastLogin %v; want 1, zero", got.FailedAttempts, got.LastLogin)
	}
	// A later success in another location moves LastLogin again.
	succeed(t, s, u.ID, at(2*time.Hour).UTC())
	if got := getUser(t, s, u.ID).LastLogin; !got.Equal(at(2 * time.Hour)) {
		t.Errorf("LastLogin = %v, want %v", got, at(2*time.Hour))
	}
}

func testApplyCountFailure(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	tests := []struct {
		give time.Time
		want mfa.FailureResult
	}{
		{at(1 * time.Minute), mfa.FailureResult{FailedAttempts: 1, Status: mfa.StatusActive}},
		{at(2 * time.Minute), mfa.FailureResult{FailedAttempts: 2, Status: mfa.StatusActive}},
		{at(3 * time.Minute), mfa.FailureResult{FailedAttempts: 3, Status: mfa.StatusLockedOut, LockedOut: true}},
		{at(4 * time.Minute), mfa.FailureResult{FailedAttempts: 4, Status: mfa.StatusLockedOut}},
		{at(5 * time.Minute), mfa.FailureResult{FailedAttempts: 5, Status: mfa.StatusLockedOut}},
	}
	for _, tt := range tests {
		if got := fail(t, s, u.ID, 3, tt.give); got != tt.want {
			t.Errorf("ApplyAuth(CountFailure at %v, threshold 3).Failure = %+v, want %+v", tt.give, got, tt.want)
		}
	}
	got := getUser(t, s, u.ID)
	if got.Status != mfa.StatusLockedOut || got.FailedAttempts != 5 || !got.LockedAt.Equal(at(3*time.Minute)) {
		t.Errorf("user after 5 failures = status %q, %d failures, LockedAt %v; want %q, 5, %v (the locking write)",
			got.Status, got.FailedAttempts, got.LockedAt, mfa.StatusLockedOut, at(3*time.Minute))
	}
}

func testApplyCountFailureNoThreshold(t *testing.T, s mfa.Store) {
	u := NewUser(t, s)
	for i := range 12 {
		got := fail(t, s, u.ID, 0, at(time.Duration(i)*time.Minute))
		if want := (mfa.FailureResult{FailedAttempts: i + 1, Status: mfa.StatusActive}); got != want {
			t.Errorf("failure %d at threshold 0 = %+v, want %+v", i+1, got, want)
		}
	}
	if got := getUser(t, s, u.ID); got.Status != mfa.StatusActive || !got.LockedAt.IsZero() {
		t.Errorf("user after failures at threshold 0 = status %q, LockedAt %v; want active, zero", got.Status, got.LockedAt)
	}
}

func testApplyCountFailureNotActive(t *testing.T, s mfa.Store) {
	for _, status := range []mfa.UserStatus{mfa.StatusBypass, mfa.StatusDisabled} {
		u := NewUser(t, s, func(u *mfa.User) { u.Status = status })
		for i := range 3 {
			got := fail(t, s, u.ID, 1, at(time.Duration(i)*time.Minute))
			if want := (mfa.FailureResult{FailedAttempts: i + 1, Status: status}); got != want {
				t.Errorf("failure %d of a %q user at threshold 1 = %+v, want %+v", i+1, status, got, want)
			}
		}
		if got := getUser(t, s, u.ID); got.Status != status || !got.LockedAt.IsZero() || got.FailedAttempts != 3 {
			t.Errorf("%q user after failures = status %q, LockedAt %v, %d failures; want %q, zero, 3", status, got.Status, got.LockedAt, got.FailedAttempts, status)
		}
	}
}

func testApplyLog(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	unknown := newLogEntry(t, "", at(time.Minute))
	unknown.Username, unknown.Result, unknown.Reason = "nobody", mfa.ResultDenied, "user_not_found"
	failed := newLogEntry(t, u.ID, at(2*time.Minute).UTC())
	failed.Result, failed.Reason = mfa.ResultFailure, "invalid_passcode"
	ok := newLogEntry(t, u.ID, at(3*time.Minute))

	writes := []mfa.AuthWrite{
		{Log: &unknown, At: unknown.Time},
		{UserID: u.ID, CountFailure: true, Threshold: 10, At: failed.Time, Log: &failed},
		{UserID: u.ID, Success: true, At: ok.Time, Log: &ok},
	}
	for i, w := range writes {
		_, err := s.ApplyAuth(ctx, w)
		check(t, fmt.Sprintf("ApplyAuth(write %d with a log record)", i), err)
	}
	if diff := cmp.Diff([]mfa.AuthLogEntry{unknown, failed, ok}, authLog(t, s), cmpOpts); diff != "" {
		t.Errorf("auth log after ApplyAuth (-want +got):\n%s", diff)
	}
	// No log record: nothing is appended.
	succeed(t, s, u.ID, at(time.Hour))
	if got := authLog(t, s); len(got) != 3 {
		t.Errorf("auth log after ApplyAuth without Log = %d records, want 3", len(got))
	}
}

// counterGuardConcurrentTest hits g's object with 50 writes of the same
// value at once: exactly one may win.
func counterGuardConcurrentTest(g counterGuard) func(t *testing.T, s mfa.Store) {
	return func(t *testing.T, s mfa.Store) {
		const n = 50
		u := NewUser(t, s)
		id := g.setup(t, s, g.start)
		v := g.start + 1 // acceptable to both kinds of guard
		now := at(time.Minute)
		entries := newLogEntries(t, u.ID, now, n)
		errs := Race(t, n, func(ctx context.Context, i int) error {
			_, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, Guard: g.guard(id, v, now), Success: true, At: now, Log: &entries[i]})
			return err
		})
		wantRace(t, fmt.Sprintf("ApplyAuth(guard %d, value %d)", g.kind, v), errs, 1, mfa.Conflict)
		if got := len(authLog(t, s)); got != 1 {
			t.Errorf("auth log after the race = %d records, want 1 (the winner's)", got)
		}
		want := v
		if g.kind == mfa.GuardAuthenticatorCounter || g.kind == mfa.GuardTokenCounter {
			want = v + 1
		}
		if got := g.read(t, s, id); got != want {
			t.Errorf("stored value after the race = %d, want %d", got, want)
		}
	}
}

func testApplyBypassConcurrent(t *testing.T, s mfa.Store) {
	const n = 50
	u := NewUser(t, s)
	codes := newCodes(t, u.ID, 2, func(_ int, c *mfa.BypassCode) { c.UsesLeft = 3 })
	createCodes(t, s, u.ID, false, codes)
	now := at(time.Minute)
	left := make([]int, n)
	entries := newLogEntries(t, u.ID, now, n)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		out, err := s.ApplyAuth(ctx, mfa.AuthWrite{
			UserID:  u.ID,
			Guard:   mfa.Guard{Kind: mfa.GuardBypassCode, Code: codes[0].Code, Now: now},
			Success: true,
			At:      now,
			Log:     &entries[i],
		})
		left[i] = out.BypassUsesLeft
		return err
	})
	wantRace(t, "ApplyAuth(bypass code with 3 uses)", errs, 3, mfa.NotFound)
	seen := map[int]bool{}
	for i, err := range errs {
		if err == nil {
			seen[left[i]] = true
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		t.Errorf("uses left reported to the winners = %v, want each of 2, 1 and 0 once", seen)
	}
	if _, err := s.GetBypassCode(t.Context(), codes[0].ID); !isKind(err, mfa.NotFound) {
		t.Errorf("GetBypassCode(%s) after its 3 uses = %v, want not found", codes[0].ID, err)
	}
	if got, err := s.GetBypassCode(t.Context(), codes[1].ID); err != nil || got.UsesLeft != 3 {
		t.Errorf("GetBypassCode(untouched code) = uses %d, %v, want 3, nil", got.UsesLeft, err)
	}
	if got := len(authLog(t, s)); got != 3 {
		t.Errorf("auth log after the race = %d records, want 3", got)
	}
}

func testApplySMSConcurrent(t *testing.T, s mfa.Store) {
	const n = 20
	u := NewUser(t, s)
	p := NewPhone(t, s)
	b := newBatch(t, u.ID, p.ID, 3, time.Time{})
	check(t, "ReplaceSMSBatch()", s.ReplaceSMSBatch(t.Context(), b))
	now := at(time.Minute)
	entries := newLogEntries(t, u.ID, now, n)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		_, err := s.ApplyAuth(ctx, mfa.AuthWrite{
			UserID:  u.ID,
			Guard:   mfa.Guard{Kind: mfa.GuardSMSCode, Code: b.Codes[1], Now: now},
			Success: true,
			At:      now,
			Log:     &entries[i],
		})
		return err
	})
	wantRace(t, "ApplyAuth(SMS code)", errs, 1, mfa.Conflict)
	wantState(t, s, u.ID, p.ID, now, 0, 2)
	if got := len(authLog(t, s)); got != 1 {
		t.Errorf("auth log after the race = %d records, want 1", got)
	}
}

func testApplyCountFailureConcurrent(t *testing.T, s mfa.Store) {
	const n, threshold = 100, 10
	u := NewUser(t, s)
	now := at(time.Minute)
	results := make([]mfa.FailureResult, n)
	entries := newLogEntries(t, u.ID, now, n)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		out, err := s.ApplyAuth(ctx, mfa.AuthWrite{UserID: u.ID, CountFailure: true, Threshold: threshold, At: now, Log: &entries[i]})
		results[i] = out.Failure
		return err
	})
	wantAllOK(t, "ApplyAuth(CountFailure)", errs)
	locking := 0
	counts := map[int]int{}
	for _, r := range results {
		counts[r.FailedAttempts]++
		if r.LockedOut {
			locking++
			if r.FailedAttempts != threshold {
				t.Errorf("the locking failure reports %d failures, want %d", r.FailedAttempts, threshold)
			}
		}
		wantStatus := mfa.StatusActive
		if r.FailedAttempts >= threshold {
			wantStatus = mfa.StatusLockedOut
		}
		if r.Status != wantStatus {
			t.Errorf("failure number %d reports status %q, want %q", r.FailedAttempts, r.Status, wantStatus)
		}
	}
	if locking != 1 {
		t.Errorf("%d of %d concurrent failures report LockedOut, want exactly 1", locking, n)
	}
	var skipped []int
	for i := 1; i <= n; i++ {
		if counts[i] != 1 {
			skipped = append(skipped, i)
		}
	}
	if len(skipped) > 0 {
		t.Errorf("FailedAttempts values reported not exactly once: %v; want each of 1..%d once (every failure counted atomically)", skipped, n)
	}
	got := getUser(t, s, u.ID)
	if got.FailedAttempts != n || got.Status != mfa.StatusLockedOut || !got.LockedAt.Equal(now) {
		t.Errorf("user after %d concurrent failures = %d failures, status %q, LockedAt %v; want %d, %q, %v",
			n, got.FailedAttempts, got.Status, got.LockedAt, n, mfa.StatusLockedOut, now)
	}
	if got := len(authLog(t, s)); got != n {
		t.Errorf("auth log after %d failures = %d records, want %d", n, got, n)
	}
}
