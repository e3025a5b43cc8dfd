package mfa

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// SMS passcodes (DUO-WIRE.md 7.2, 7.3). A batch holds Settings.SMSBatchSize
// codes (1-10) of SMSCodeDigits digits. The first digit of code i (from 0)
// is (i+1) mod 10 and the rest are random, so a person holding the text
// can tell which code comes next: this is the digit preauth's
// sms_nextcode reports ("next code starts with: 2").
const (
	SMSCodeDigits   = 7
	MaxSMSBatchSize = 10
)

// SMSBatchSizeOrDefault is the batch size the settings ask for, or the default when
// it is out of range.
func (s Settings) SMSBatchSizeOrDefault() int {
	if s.SMSBatchSize < 1 || s.SMSBatchSize > MaxSMSBatchSize {
		return DefaultSettings().SMSBatchSize
	}
	return s.SMSBatchSize
}

// NewSMSBatch makes a batch of size codes for the user's phone, with an id
// (PrefixSMSBatch) and codes drawn from r. expire 0 means the codes never
// expire. size must be 1..MaxSMSBatchSize.
func NewSMSBatch(r io.Reader, userID, phoneID string, size int, now time.Time, expire time.Duration) (SMSBatch, error) {
	if size < 1 || size > MaxSMSBatchSize {
		return SMSBatch{}, fmt.Errorf("sms batch size %d out of range", size)
	}
	id, err := NewID(PrefixSMSBatch, r)
	if err != nil {
		return SMSBatch{}, fmt.Errorf("new sms batch: %w", err)
	}
	b := SMSBatch{ID: id, UserID: userID, PhoneID: phoneID, Created: now, Codes: make([]Passcode, 0, size)}
	if expire > 0 {
		b.Expires = now.Add(expire)
	}
	for i := range size {
		rest, err := RandomDigits(r, SMSCodeDigits-1)
		if err != nil {
			return SMSBatch{}, fmt.Errorf("new sms batch: %w", err)
		}
		b.Codes = append(b.Codes, Passcode(strconv.Itoa((i+1)%10)+rest))
	}
	return b, nil
}

// SMSText is the text of an SMS batch: "<prefix> 1234567 2345678 ...", the
// prefix (Settings.SMSMessage) trimmed and left out when empty.
func SMSText(prefix string, codes []Passcode) Passcode {
	text := make([]string, 0, len(codes)+1)
	if m := strings.TrimSpace(prefix); m != "" {
		text = append(text, m)
	}
	for _, c := range codes {
		text = append(text, string(c))
	}
	return Passcode(strings.Join(text, " "))
}
