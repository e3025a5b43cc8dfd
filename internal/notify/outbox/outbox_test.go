package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
)

var epoch = time.Date(2025, time.June, 15, 9, 30, 0, 123456789, time.UTC)

// fixedClock returns epoch, then epoch+step, epoch+2*step, ...
func fixedClock(step time.Duration) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return epoch.Add(time.Duration(n.Add(1)-1) * step) }
}

func newOutbox(t *testing.T, now func() time.Time) (*outbox.Outbox, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := outbox.New(dir, now)
	if err != nil {
		t.Fatalf("New(%s) = %v", dir, err)
	}
	return o, dir
}

var fileName = regexp.MustCompile(`^[0-9]{19}-[0-9]{10}-(sms|phone|email)\.json$`)

func TestRoundTrip(t *testing.T) {
	o, dir := newOutbox(t, fixedClock(time.Second))
	ctx := t.Context()
	give := []mfa.Message{
		{Channel: mfa.ChannelSMS, To: "+15551234567", Body: "Your passcode is 1234567", Context: "authentication", UserID: "DU0000000000000000001"},
		{Channel: mfa.ChannelEmail, To: "alice@example.com", Subject: "Activate twostep", Body: "https://twostep.example/activate/Xk7pQ2mZr9TfW4bLc8Nd", Context: "enrollment", UserID: "DU0000000000000000002"},
		{Channel: mfa.ChannelVoice, To: "+442071838750", Body: "Press 1 to approve", Context: "authentication", TxID: "TX1", Extension: "1234"},
	}
	for _, m := range give {
		if err := o.Send(ctx, m); err != nil {
			t.Fatalf("Send(%s to %s) = %v, want nil", m.Channel, m.To, err)
		}
	}
	got, err := o.List()
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	var want []outbox.Stored
	for i, m := range give {
		want = append(want, outbox.Stored{Channel: m.Channel, To: m.To, Subject: m.Subject, Body: m.Body,
			Context: m.Context, UserID: m.UserID, TxID: m.TxID, Extension: m.Extension, Time: epoch.Add(time.Duration(i) * time.Second)})
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(outbox.Stored{}, "File")); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
	for i, s := range got {
		if !fileName.MatchString(s.File) || !strings.HasSuffix(s.File, "-"+string(give[i].Channel)+".json") {
			t.Errorf("List()[%d].File = %q, want <unixnano>-<seq>-%s.json", i, s.File, give[i].Channel)
		}
		if string(s.Body) != string(give[i].Body) {
			t.Errorf("List()[%d].Body does not read back the plaintext", i)
		}
	}

	// The file itself holds the plaintext body and the named fields: this is
	// what a developer reads.
	data, err := os.ReadFile(filepath.Join(dir, got[1].File))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"channel": "email"`, `"to": "alice@example.com"`, `"subject": "Activate twostep"`,
		`"body": "https://twostep.example/activate/Xk7pQ2mZr9TfW4bLc8Nd"`, `"context": "enrollment"`,
		`"user_id": "DU0000000000000000002"`, `"time": "2025-06-15T09:30:01.123456789Z"`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("file %s = %s, want it to contain %s", got[1].File, data, want)
		}
	}

	last, ok, err := o.Last("+15551234567")
	if err != nil || !ok || last.File != got[0].File {
		t.Errorf("Last(+15551234567) = %s, %v, %v, want %s, true, nil", last.File, ok, err, got[0].File)
	}
	if _, ok, err := o.Last("+15550000000"); ok || err != nil {
		t.Errorf("Last(nobody) = _, %v, %v, want false, nil", ok, err)
	}
}

func TestLastIsNewest(t *testing.T) {
	o, _ := newOutbox(t, func() time.Time { return epoch }) // every message at the same instant
	for i := range 5 {
		if err := o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Body: mfa.Passcode(fmt.Sprint("code ", i))}); err != nil {
			t.Fatal(err)
		}
		if err := o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: "+15559999999", Body: "other"}); err != nil {
			t.Fatal(err)
		}
	}
	last, ok, err := o.Last("+15551234567")
	if err != nil || !ok || string(last.Body) != "code 4" {
		t.Errorf("Last() = body %q, %v, %v, want %q, true, nil", string(last.Body), ok, err, "code 4")
	}
}

// TestOrderSequential: names sort in sending order even when the clock
// stands still or goes backwards.
func TestOrderSequential(t *testing.T) {
	times := []time.Time{epoch, epoch, epoch.Add(-time.Hour), epoch.Add(time.Nanosecond), epoch}
	var i atomic.Int64
	o, _ := newOutbox(t, func() time.Time { return times[int(i.Add(1)-1)%len(times)] })
	for n := range 20 {
		if err := o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Body: mfa.Passcode(fmt.Sprint(n))}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := o.List()
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, s := range got {
		bodies = append(bodies, string(s.Body))
	}
	var want []string
	for n := range 20 {
		want = append(want, fmt.Sprint(n))
	}
	if diff := cmp.Diff(want, bodies); diff != "" {
		t.Errorf("List() bodies out of sending order (-want +got):\n%s", diff)
	}
}

// TestConcurrentSends: 100 concurrent sends leave 100 whole files, none
// lost, none torn, no temporary file behind, names strictly increasing.
func TestConcurrentSends(t *testing.T) {
	for _, clock := range []struct {
		name string
		now  func() time.Time
	}{
		{"real clock", time.Now},
		{"frozen clock", func() time.Time { return epoch }},
	} {
		t.Run(clock.name, func(t *testing.T) {
			o, dir := newOutbox(t, clock.now)
			const n = 100
			// A long body: a torn write would show as a short or invalid file.
			long := strings.Repeat("0123456789", 1000)
			start := make(chan struct{})
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					errs[i] = o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: fmt.Sprintf("+1555%07d", i),
						Body: mfa.Passcode(fmt.Sprintf("%d:%s", i, long))})
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Send #%d = %v", i, err)
				}
			}
			got, err := o.List()
			if err != nil {
				t.Fatalf("List() = %v", err)
			}
			if len(got) != n {
				t.Fatalf("List() = %d messages, want %d", len(got), n)
			}
			seen := map[string]bool{}
			for i, s := range got {
				if i > 0 && got[i-1].File >= s.File {
					t.Errorf("List() names out of order: %s then %s", got[i-1].File, s.File)
				}
				num, body, _ := strings.Cut(string(s.Body), ":")
				if body != long || s.To != fmt.Sprintf("+1555%07s", num) {
					t.Errorf("message %s is torn or mixed up: to %s, body of %d bytes", s.File, s.To, len(body))
				}
				seen[num] = true
			}
			if len(seen) != n {
				t.Errorf("List() holds %d distinct messages, want %d", len(seen), n)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != n {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %d entries, want %d files (temporary files left?): %v", len(entries), n, names)
			}
		})
	}
}

// TestTwoOutboxesOneDir: two outboxes on one directory with one frozen
// clock pick the same names; neither overwrites the other's files.
func TestTwoOutboxesOneDir(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return epoch }
	var boxes []*outbox.Outbox
	for range 2 {
		o, err := outbox.New(dir, now)
		if err != nil {
			t.Fatal(err)
		}
		boxes = append(boxes, o)
	}
	for i := range 10 {
		for j, o := range boxes {
			if err := o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Body: mfa.Passcode(fmt.Sprint(i, j))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := boxes[0].List()
	if err != nil || len(got) != 20 {
		t.Errorf("List() = %d messages, %v, want 20, nil", len(got), err)
	}
}

func TestValidation(t *testing.T) {
	ok := mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Body: "passcode 123456"}
	tests := []struct {
		name  string
		give  func(m *mfa.Message)
		field string // "" for valid
	}{
		{"valid sms", func(m *mfa.Message) {}, ""},
		{"valid voice", func(m *mfa.Message) { m.Channel, m.TxID = mfa.ChannelVoice, "TX1" }, ""},
		{"voice without txid", func(m *mfa.Message) { m.Channel = mfa.ChannelVoice }, "txid"},
		{"valid email", func(m *mfa.Message) { m.Channel, m.To = mfa.ChannelEmail, "a.b+c@example.co.uk" }, ""},
		{"shortest E.164", func(m *mfa.Message) { m.To = "+12" }, ""},
		{"longest E.164", func(m *mfa.Message) { m.To = "+123456789012345" }, ""},
		{"no channel", func(m *mfa.Message) { m.Channel = "" }, "channel"},
		{"unknown channel", func(m *mfa.Message) { m.Channel = "fax" }, "channel"},
		{"channel case", func(m *mfa.Message) { m.Channel = "SMS" }, "channel"},
		{"channel path", func(m *mfa.Message) { m.Channel = "../sms" }, "channel"},
		{"sms without plus", func(m *mfa.Message) { m.To = "15551234567" }, "to"},
		{"sms leading zero", func(m *mfa.Message) { m.To = "+05551234567" }, "to"},
		{"sms too long", func(m *mfa.Message) { m.To = "+1234567890123456" }, "to"},
		{"sms spaces", func(m *mfa.Message) { m.To = "+1 555 123 4567" }, "to"},
		{"sms extension", func(m *mfa.Message) { m.To = "+15551234567x12" }, "to"},
		{"sms empty", func(m *mfa.Message) { m.To = "" }, "to"},
		{"voice to email", func(m *mfa.Message) { m.Channel, m.To, m.TxID = mfa.ChannelVoice, "a@example.com", "TX1" }, "to"},
		{"email to phone", func(m *mfa.Message) { m.Channel = mfa.ChannelEmail }, "to"},
		{"email display name", func(m *mfa.Message) { m.Channel, m.To = mfa.ChannelEmail, "Alice <a@example.com>" }, "to"},
		{"email brackets", func(m *mfa.Message) { m.Channel, m.To = mfa.ChannelEmail, "<a@example.com>" }, "to"},
		{"email no at", func(m *mfa.Message) { m.Channel, m.To = mfa.ChannelEmail, "alice" }, "to"},
		{"email header injection", func(m *mfa.Message) { m.Channel, m.To = mfa.ChannelEmail, "a@example.com\r\nBcc: b@example.com" }, "to"},
		{"email two", func(m *mfa.Message) { m.Channel, m.To = mfa.ChannelEmail, "a@example.com, b@example.com" }, "to"},
		{"empty body", func(m *mfa.Message) { m.Body = "" }, "body"},
		{"blank body", func(m *mfa.Message) { m.Body = " \n\t" }, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, dir := newOutbox(t, nil)
			m := ok
			tt.give(&m)
			err := o.Send(t.Context(), m)
			entries, _ := os.ReadDir(dir)
			if tt.field == "" {
				if err != nil || len(entries) != 1 {
					t.Errorf("Send(%s) = %v with %d files, want nil and 1 file", tt.name, err, len(entries))
				}
				return
			}
			var e *mfa.Error
			if !errors.As(err, &e) || e.Kind != mfa.Invalid || e.Field != tt.field {
				t.Errorf("Send(%s) = %v, want an invalid error with Field %q", tt.name, err, tt.field)
			}
			if len(entries) != 0 {
				t.Errorf("Send(%s) failed but left %d files", tt.name, len(entries))
			}
			if err != nil && strings.Contains(err.Error(), string(m.Body)) && m.Body != "" && strings.TrimSpace(string(m.Body)) != "" {
				t.Errorf("Send(%s) error %q shows the body", tt.name, err)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	o, dir := newOutbox(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := o.Send(ctx, mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Body: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send(canceled) = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Send(canceled) left %d files", len(entries))
	}
}

func TestUnavailable(t *testing.T) {
	o, dir := newOutbox(t, nil)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	err := o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Body: "secret 424242"})
	if mfa.KindOf(err) != mfa.Unavailable {
		t.Errorf("Send(into a removed directory) = %v, want unavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), "424242") {
		t.Errorf("Send() error %q shows the body", err)
	}
}

func TestFileModes(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{"new directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "outbox") }},
		{"existing open directory", func(t *testing.T) string {
			dir := filepath.Join(t.TempDir(), "outbox")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t)
			o, err := outbox.New(dir, nil)
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			st, err := os.Stat(dir)
			if err != nil || st.Mode().Perm() != 0o700 {
				t.Errorf("New() left the directory mode %v (%v), want 0700", st.Mode().Perm(), err)
			}
			if err := o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelEmail, To: "a@example.com", Body: "link"}); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) != 1 {
				t.Fatalf("ReadDir() = %d entries, %v, want 1", len(entries), err)
			}
			info, err := entries[0].Info()
			if err != nil || info.Mode().Perm() != 0o600 || !info.Mode().IsRegular() {
				t.Errorf("message file mode = %v (%v), want a regular file 0600", info.Mode(), err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", file} {
		if _, err := outbox.New(dir, nil); err == nil {
			t.Errorf("New(%q) = nil error, want an error", dir)
		}
	}
}

// TestListSkipsTemporaryFiles: a half-written message is not listed.
func TestListSkipsTemporaryFiles(t *testing.T) {
	o, dir := newOutbox(t, nil)
	if err := os.WriteFile(filepath.Join(dir, ".send-123.tmp"), []byte(`{"body": "half`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := o.Send(t.Context(), mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Body: "whole"}); err != nil {
		t.Fatal(err)
	}
	got, err := o.List()
	if err != nil || len(got) != 1 || string(got[0].Body) != "whole" {
		t.Errorf("List() = %d messages, %v, want the one whole message", len(got), err)
	}
	// A corrupt message file is an error naming it, not a silent skip.
	if err := os.WriteFile(filepath.Join(dir, "9999999999999999999-0000000001-sms.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := o.List(); err == nil || !strings.Contains(err.Error(), "9999999999999999999-0000000001-sms.json") {
		t.Errorf("List() with a corrupt file = %v, want an error naming it", err)
	}
}

// TestNoBodyInPrint: printing or logging a Message, or a Stored read back,
// never shows the body.
func TestNoBodyInPrint(t *testing.T) {
	const secret = "Xk7pQ2mZr9TfW4bLc8Nd-424242"
	m := mfa.Message{Channel: mfa.ChannelSMS, To: "+15551234567", Subject: "s", Body: secret, Context: "enrollment", UserID: "DU1"}
	o, _ := newOutbox(t, nil)
	if err := o.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	st, ok, err := o.Last(m.To)
	if err != nil || !ok {
		t.Fatalf("Last() = %v, %v", ok, err)
	}
	if string(st.Body) != secret {
		t.Fatalf("Last().Body does not read back the plaintext")
	}
	var out []string
	for _, v := range []any{m, &m, st, &st, []outbox.Stored{st}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("send", "message", m, "stored", st, "body", m.Body, "stored_body", st.Body)
		l.Info("send", slog.Any("message", &m), slog.Any("stored", &st))
	}
	out = append(out, logs.String())
	for _, s := range out {
		if strings.Contains(s, secret) || strings.Contains(s, "424242") || strings.Contains(s, fmt.Sprintf("%x", secret)) {
			t.Errorf("printed form shows the body: %s", s)
		}
	}
	if !slices.ContainsFunc(out, func(s string) bool { return strings.Contains(s, "+15551234567") }) {
		t.Error("no printed form shows the recipient; is the test printing the messages at all?")
	}
}
