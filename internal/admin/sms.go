package admin

import (
	"context"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// SMS passcodes (DUO-WIRE.md 7.2, 7.3): batches are made by
// mfa.NewSMSBatch (shared with the authentication engine). A new batch voids
// every unused code of the user's previous batch on that phone, atomically
// in the store. Codes expire after Settings.SMSExpire (0 = never) and are
// stored only as keyed hashes.
const (
	SMSCodeDigits   = mfa.SMSCodeDigits
	MaxSMSBatchSize = mfa.MaxSMSBatchSize
)

// SendSMSPasscodes texts a new batch of SMS passcodes to the phone, for the
// first of its users (the oldest; POST /admin/v1/phones/{id}/send_sms_passcodes).
// The phone must be able to receive SMS and be associated with a user. The
// SMS is "<sms_message> 1234567 2345678 ...", one telephony credit. The
// batch is sent first and stored (voiding the previous one) only once the
// carrier took it: if delivery fails the request is Unavailable and the
// user's previous codes on that phone keep working.
func (s *Service) SendSMSPasscodes(ctx context.Context, a Actor, phoneID string) error {
	if err := s.authorize(ctx, a, SendActivations); err != nil {
		return err
	}
	return s.sendSMSPasscodes(ctx, a, phoneID)
}

// sendSMSPasscodes is SendSMSPasscodes once the actor is authorized.
func (s *Service) sendSMSPasscodes(ctx context.Context, a Actor, phoneID string) error {
	if err := s.needNotifier(); err != nil {
		return err
	}
	p, err := s.smsPhone(ctx, phoneID)
	if err != nil {
		return err
	}
	users, err := s.store.PhoneUsers(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("send sms passcodes: %w", err)
	}
	if len(users) == 0 {
		return mfa.InvalidField(phoneIDField, "the phone is not associated with a user; associate it first")
	}
	u := users[0]
	settings, err := s.store.GetSettings(ctx)
	if err != nil {
		return fmt.Errorf("send sms passcodes: %w", err)
	}
	size := settings.SMSBatchSizeOrDefault()
	b, err := mfa.NewSMSBatch(s.rand, u.ID, p.ID, size, s.now(), settings.SMSExpire)
	if err != nil {
		return fmt.Errorf("send sms passcodes: %w", err)
	}
	id := b.ID
	// Sent first: a failed send stores nothing, and the previous batch's
	// codes keep working.
	if err := s.sendSMS(ctx, p, u.ID, ctxAdministrator, string(mfa.SMSText(settings.SMSMessage, b.Codes))); err != nil {
		return err
	}
	if err := s.store.ReplaceSMSBatch(ctx, b); err != nil {
		return fmt.Errorf("send sms passcodes: %w", err)
	}
	// The send is outside any transaction; what follows a successful send
	// is one transaction with its log record.
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if !p.SMSPasscodesSent {
			p.SMSPasscodesSent = true
			if err := s.store.UpdatePhone(ctx, p); err != nil {
				return fmt.Errorf("send sms passcodes: %w", err)
			}
		}
		desc := map[string]any{"user_id": u.ID, "number": p.Number, "count": size, "sms_batch_id": id}
		return s.logChange(ctx, a, "phone_send_sms_passcodes", "phone", p.ID, describe(desc))
	})
}
