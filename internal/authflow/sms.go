package authflow

import (
	"context"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/reqid"
)

// SMS passcodes on request (DUO-WIRE 2.2, 7.3): factor=sms, or the keyword
// "sms"/"smsN" typed where a passcode is expected, sends a new batch to the
// phone (voiding its previous batch) and always answers deny with status
// "sent", so the client prompts again for one of the new codes. Asking is
// not a failed attempt: it writes one auth log record (factor
// sms_refresh, result denied, reason new_sms_passcodes) and never moves
// the lockout counter. Sends are limited per user (DefaultSMSLimit).

// StatusSent is the auth status of an SMS batch request.
const StatusSent = "sent"

// Messages of SMS batch requests and of unknown keywords.
const (
	MsgSMSSent           = "New SMS passcodes sent"
	MsgNoSMSDevice       = "No device can receive SMS"
	MsgFactorUnavailable = "This login method is not available. Enter a passcode instead."
)

// Auth log values of SMS batch requests (sms_refresh is Duo's factor; the
// reasons are ours).
const (
	LogFactorSMSRefresh     = "sms_refresh"
	ReasonNewSMSPasscodes   = "new_sms_passcodes"
	ReasonNoSMSDevice       = "no_sms_device"
	ReasonFactorUnavailable = "factor_not_available"
)

// DefaultSMSLimit bounds SMS batch sends per user: three at once, then one
// a minute, so nobody can be flooded with texts (or run up the bill).
func DefaultSMSLimit() Limit { return Limit{Burst: 3, Every: time.Minute} }

// WithNotifier sets how SMS passcodes are delivered. Without one, factor
// sms is Unavailable.
func WithNotifier(n mfa.Notifier) Option {
	return func(s *Service) { s.notifier = n }
}

// WithSMSLimit sets the per-user SMS batch send limit (a zero Limit turns
// it off). The default is DefaultSMSLimit.
func WithSMSLimit(l Limit) Option {
	return func(s *Service) { s.bySMS = newLimiter(l, s.now) }
}

// smsPhone picks the phone to text: device is a phone id, "auto" or ""
// (the first phone that can receive SMS); nth > 0 is the nth device of
// preauth's list (phones come first). ok is false when that device cannot
// receive SMS. An unknown phone id is Invalid.
func smsPhone(a account, device string, nth int) (p mfa.Phone, ok bool, err error) {
	switch {
	case nth > 0:
		if nth > len(a.phones) {
			return p, false, nil
		}
		p = a.phones[nth-1]
		return p, method(mfa.FactorSMS).can(p), nil
	case device == "" || device == "auto":
		for _, p := range a.phones {
			if method(mfa.FactorSMS).can(p) {
				return p, true, nil
			}
		}
		return p, false, nil
	}
	for _, p := range a.phones {
		if p.ID == device {
			return p, method(mfa.FactorSMS).can(p), nil
		}
	}
	for _, t := range a.tokens {
		if t.ID == device {
			return mfa.Phone{}, false, nil
		}
	}
	return p, false, mfa.InvalidField("device", "unknown device")
}

// sms sends a new SMS batch for an enrolled, active user. If delivery
// fails the answer is Unavailable, no auth log is written and nothing is
// stored: the previous batch's codes still work (see sendBatch).
func (s *Service) sms(ctx context.Context, d *decision, device string, nth int) (AuthResult, error) {
	d.factor = method(mfa.FactorSMS).LogFactor()
	p, ok, err := smsPhone(d.a, device, nth)
	if err != nil {
		return AuthResult{}, err
	}
	if !ok && nth == 0 && device != "" && device != "auto" {
		// A device named by id that cannot take a text: Duo's 40002,
		// naming why.
		return AuthResult{}, mfa.InvalidField("device", noSMSReason(p))
	}
	if !ok {
		return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonNoSMSDevice, StatusDeny, MsgNoSMSDevice)
	}
	if s.notifier == nil {
		return AuthResult{}, mfa.E(mfa.Unavailable, "SMS delivery is not configured")
	}
	if ok, wait := s.bySMS.Take(d.a.user.ID); !ok {
		return AuthResult{}, mfa.RetryLater("too many SMS passcode requests for this user", wait)
	}
	if err := s.sendBatch(ctx, d.a.user.ID, p, d.a.settings); err != nil {
		return AuthResult{}, err
	}
	d.device, d.name = p.ID, p.Name
	return d.deny(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonNewSMSPasscodes, StatusSent, MsgSMSSent)
}

// MsgSMSNotSent is what a user reads when the carrier could not take the
// SMS: the previous codes still work, and another method may.
const MsgSMSNotSent = "could not send the SMS passcodes; try another method"

// sendBatch texts a new batch to the user's phone and then stores it
// (voiding the previous one), with its telephony-log record (the
// carrier's message id, a credit per SMS segment). The text is
// sent first: if the carrier fails, nothing is stored, the previous
// batch's codes keep working and the error is Unavailable
// (MsgSMSNotSent). A refusal by a send cap keeps its own kind and
// message.
func (s *Service) sendBatch(ctx context.Context, userID string, p mfa.Phone, st mfa.Settings) error {
	now := s.now()
	b, err := mfa.NewSMSBatch(s.rand, userID, p.ID, st.SMSBatchSizeOrDefault(), now, st.SMSExpire)
	if err != nil {
		return err
	}
	if err := mfa.HitTelephonyCaps(ctx, s.store, st, userID, now); err != nil {
		return err
	}
	m := mfa.Message{Channel: mfa.ChannelSMS, To: p.Number, Body: mfa.SMSText(st.SMSMessage, b.Codes),
		Context: "authentication", UserID: userID}
	rcpt, err := mfa.Deliver(ctx, s.notifier, m)
	if err != nil {
		if k := mfa.KindOf(err); k == mfa.RateLimited || k == mfa.Invalid {
			return err
		}
		return mfa.Wrap(mfa.Unavailable, MsgSMSNotSent, err)
	}
	if err := s.store.ReplaceSMSBatch(ctx, b); err != nil {
		return fmt.Errorf("replace sms batch: %w", err)
	}
	if _, err := s.store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: now, Type: string(mfa.ChannelSMS),
		Context: "authentication", Phone: p.Number, UserID: userID, Credits: rcpt.Credits(mfa.ChannelSMS),
		CarrierID: rcpt.CarrierID}); err != nil {
		return fmt.Errorf("telephony log: %w", err)
	}
	if !p.SMSPasscodesSent {
		p.SMSPasscodesSent = true
		if err := s.store.UpdatePhone(ctx, p); err != nil {
			return fmt.Errorf("update phone: %w", err)
		}
	}
	return nil
}

// refreshSMS sends a new batch after the last code of the phone's batch
// was used, when Settings.SMSRefresh asks for it (Duo's sms_refresh). The
// login already succeeded: a failure is logged, not returned.
func (s *Service) refreshSMS(ctx context.Context, a account, use mfa.SMSCodeUse) {
	if !a.settings.SMSRefresh || use.Remaining > 0 || s.notifier == nil {
		return
	}
	for _, p := range a.phones {
		if p.ID == use.PhoneID && method(mfa.FactorSMS).can(p) {
			if err := s.sendBatch(ctx, a.user.ID, p, a.settings); err != nil {
				s.log.WarnContext(ctx, "sms_refresh: could not send a new batch", reqid.Key, reqid.From(ctx), "user_id", a.user.ID, "err", err)
			}
			return
		}
	}
}

// noSMSReason says why a device cannot receive SMS passcodes.
func noSMSReason(p mfa.Phone) string {
	switch {
	case p.ID == "":
		return "the device is a hardware token and cannot receive SMS"
	case p.Type == mfa.PhoneLandline:
		return "the phone is a landline and cannot receive SMS"
	case p.Type == mfa.PhoneTablet:
		return "the device is a tablet and cannot receive SMS"
	case p.Number == "":
		return "the phone has no number and cannot receive SMS"
	}
	return "the phone cannot receive SMS"
}
