package mfa_test

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestNewSMSBatch(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	b, err := mfa.NewSMSBatch(rand.Reader, "DUX", "DPX", 10, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.ID) != 20 || b.ID[:2] != mfa.PrefixSMSBatch || b.UserID != "DUX" || b.PhoneID != "DPX" ||
		!b.Created.Equal(now) || !b.Expires.Equal(now.Add(time.Hour)) || len(b.Codes) != 10 {
		t.Fatalf("batch = %+v", b)
	}
	for i, c := range b.Codes {
		if len(c) != mfa.SMSCodeDigits || c[0] != byte('0'+(i+1)%10) {
			t.Errorf("code %d = %q, want %d digits starting with %d", i, string(c), mfa.SMSCodeDigits, (i+1)%10)
		}
	}
	if b, err := mfa.NewSMSBatch(rand.Reader, "DUX", "DPX", 1, now, 0); err != nil || !b.Expires.IsZero() {
		t.Errorf("batch without expiry = %+v, %v", b, err)
	}
	for _, size := range []int{0, 11} {
		if _, err := mfa.NewSMSBatch(rand.Reader, "DUX", "DPX", size, now, 0); err == nil {
			t.Errorf("size %d accepted", size)
		}
	}
	if _, err := mfa.NewSMSBatch(bytes.NewReader(nil), "DUX", "DPX", 3, now, 0); err == nil {
		t.Error("an empty random source gave a batch")
	}
}

func TestSMSText(t *testing.T) {
	codes := []mfa.Passcode{"1234567", "2345678"}
	if got := string(mfa.SMSText("  twostep passcodes: ", codes)); got != "twostep passcodes: 1234567 2345678" {
		t.Errorf("SMSText = %q", got)
	}
	if got := string(mfa.SMSText(" ", codes)); got != "1234567 2345678" {
		t.Errorf("SMSText(no prefix) = %q", got)
	}
	s := mfa.Settings{SMSBatchSize: 0}
	if s.SMSBatchSizeOrDefault() != 10 {
		t.Errorf("default size = %d", s.SMSBatchSizeOrDefault())
	}
	s.SMSBatchSize = 3
	if s.SMSBatchSizeOrDefault() != 3 {
		t.Errorf("size = %d", s.SMSBatchSizeOrDefault())
	}
}
