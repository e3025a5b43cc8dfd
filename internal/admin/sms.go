package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// SMS passcodes (DUO-WIRE.md 7.2, 7.3). A batch holds Settings.SMSBatchSize
// codes (1-10) of SMSCodeDigits digits. The first digit of code i (from 0)
// is (i+1) mod 10 and the rest are random, so a person holding the text
// can tell which code comes next: this is the digit preauth's
// sms_nextcode reports ("next code starts with: 2"). A new batch voids
// every unused code of the user's previous batch on that phone, atomically
// in the store. Codes expire after Settings.SMSExpire (0 = never) and are
// stored only as keyed hashes.
const (
	SMSCodeDigits   = 7
	MaxSMSBatchSize = 10
)

// smsCode returns code i (from 0) of a batch: its index digit followed by
// random digits from s's random source.
func (s *Service) smsCode(i int) (string, error) {
	rest, err := mfa.RandomDigits(s.rand, SMSCodeDigits-1)
	if err != nil {
		return "", err
	}
	return strconv.Itoa((i+1)%10) + rest, nil
}

// SendSMSPasscodes texts a new batch of SMS passcodes to the phone, for the
// first of its users (the oldest; POST /admin/v1/phones/{id}/send_sms_passcodes).
// The phone must be able to receive SMS and be associated with a user. The
// SMS is "<sms_message> 1234567 2345678 ...", one telephony credit. The
// batch is stored (voiding the previous one) before it is sent: if
// delivery then fails the request is Unavailable and the user holds no
// usable SMS codes on that phone until a batch is sent again.
func (s *Service) SendSMSPasscodes(ctx context.Context, a Actor, phoneID string) error {
	if err := s.authorize(ctx, a, SendActivations); err != nil {
		return err
	}
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
	size := settings.SMSBatchSize
	if size < 1 || size > MaxSMSBatchSize {
		size = mfa.DefaultSettings().SMSBatchSize
	}
	id, err := mfa.NewID(mfa.PrefixSMSBatch, s.rand)
	if err != nil {
		return fmt.Errorf("send sms passcodes: %w", err)
	}
	now := s.now()
	b := mfa.SMSBatch{ID: id, UserID: u.ID, PhoneID: p.ID, Created: now}
	if settings.SMSExpire > 0 {
		b.Expires = now.Add(settings.SMSExpire)
	}
	text := make([]string, 0, size+1)
	if m := strings.TrimSpace(settings.SMSMessage); m != "" {
		text = append(text, m)
	}
	for i := range size {
		c, err := s.smsCode(i)
		if err != nil {
			return fmt.Errorf("send sms passcodes: %w", err)
		}
		b.Codes = append(b.Codes, mfa.Passcode(c))
		text = append(text, c)
	}
	if err := s.store.ReplaceSMSBatch(ctx, b); err != nil {
		return fmt.Errorf("send sms passcodes: %w", err)
	}
	if err := s.sendSMS(ctx, p, u.ID, ctxAdministrator, strings.Join(text, " ")); err != nil {
		return err
	}
	if !p.SMSPasscodesSent {
		p.SMSPasscodesSent = true
		if err := s.store.UpdatePhone(ctx, p); err != nil {
			return fmt.Errorf("send sms passcodes: %w", err)
		}
	}
	desc := map[string]any{"user_id": u.ID, "number": p.Number, "count": size, "sms_batch_id": id}
	return s.logChange(ctx, a, "phone_send_sms_passcodes", "phone", p.ID, describe(desc))
}
