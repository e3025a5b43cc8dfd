package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

var _ mfa.Notifier = (*Outbox)(nil)

// Outbox writes messages as files into one directory. It is safe for
// concurrent use. See the package documentation: development and tests only.
type Outbox struct {
	dir string
	now func() time.Time

	mu   sync.Mutex
	last int64  // the newest unixnano used in a name: names never go back
	seq  uint64 // ties on the time
}

// Stored is one message read back from the outbox.
type Stored struct {
	File    string // the file's name within the directory
	Channel mfa.Channel
	To      string
	Subject string
	// Body is the plaintext (string(Body) reads it); like every Passcode it
	// redacts itself when printed or logged.
	Body    mfa.Passcode
	Context string
	UserID  string
	// TxID is the transaction a voice call collects the answer of: the
	// call id `twostepd outbox answer` takes.
	TxID      string
	Extension string
	Time      time.Time
}

// record is a message's file.
type record struct {
	Channel mfa.Channel `json:"channel"`
	To      string      `json:"to"`
	Subject string      `json:"subject"`
	Body    string      `json:"body"` // plaintext, on purpose: see the package doc
	Context string      `json:"context"`
	UserID  string      `json:"user_id"`
	TxID    string      `json:"txid,omitempty"`
	Ext     string      `json:"extension,omitempty"`
	Time    time.Time   `json:"time"`
}

// New returns an outbox writing into dir, which it creates if needed and
// restricts to mode 0700 (the files hold passcodes). now stamps messages
// and names files; nil means time.Now.
func New(dir string, now func() time.Time) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("outbox: empty directory")
	}
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("outbox: %s is not a directory", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{dir: dir, now: now}, nil
}

// Dir returns the outbox's directory.
func (o *Outbox) Dir() string { return o.dir }

// Send validates m and writes it as one new file, mode 0600, which appears
// complete or not at all. A malformed message is Invalid naming the field
// (channel, to or body); a write that fails is Unavailable.
func (o *Outbox) Send(ctx context.Context, m mfa.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("outbox send: %w", err)
	}
	if err := validate(m); err != nil {
		return err
	}
	when := o.now()
	data, err := json.MarshalIndent(record{
		Channel: m.Channel,
		To:      m.To,
		Subject: m.Subject,
		Body:    string(m.Body),
		Context: m.Context,
		UserID:  m.UserID,
		TxID:    m.TxID,
		Ext:     m.Extension,
		Time:    when,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("outbox send: %w", err)
	}
	if err := o.write(m.Channel, when, append(data, '\n')); err != nil {
		return mfa.Wrap(mfa.Unavailable, "message delivery is unavailable", fmt.Errorf("outbox send: %w", err))
	}
	return nil
}

// write stores data under the next free name: written and synced to a
// temporary file (mode 0600, hidden from List by its leading dot), then
// hard-linked to its final name, which fails rather than replaces if
// another Outbox on the same directory took the name.
func (o *Outbox) write(ch mfa.Channel, when time.Time, data []byte) error {
	f, err := os.CreateTemp(o.dir, ".send-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	const attempts = 100
	for range attempts {
		final := filepath.Join(o.dir, o.name(ch, when))
		err := os.Link(tmp, final)
		if err == nil {
			return nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		// No hard links on this file system: rename, which is atomic too.
		return os.Rename(tmp, final)
	}
	return fmt.Errorf("no free file name after %d attempts", attempts)
}

// name returns the next file name: times never go back and seq breaks
// ties, so names sort in the order they were handed out.
func (o *Outbox) name(ch mfa.Channel, when time.Time) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := max(when.UnixNano(), o.last, 0)
	o.last = t
	o.seq++
	return fmt.Sprintf("%019d-%010d-%s.json", t, o.seq, ch)
}

// List reads every message in the outbox, oldest first.
func (o *Outbox) List() ([]Stored, error) {
	entries, err := os.ReadDir(o.dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("outbox list: %w", err)
	}
	var out []Stored
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(o.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("outbox list: %w", err)
		}
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("outbox list: %s: %w", name, err)
		}
		out = append(out, Stored{File: name, Channel: r.Channel, To: r.To, Subject: r.Subject,
			Body: mfa.Passcode(r.Body), Context: r.Context, UserID: r.UserID, TxID: r.TxID, Extension: r.Ext, Time: r.Time})
	}
	return out, nil
}

// Last returns the newest message to to (compared exactly), and false if
// there is none.
func (o *Outbox) Last(to string) (Stored, bool, error) {
	all, err := o.List()
	if err != nil {
		return Stored{}, false, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].To == to {
			return all[i], true, nil
		}
	}
	return Stored{}, false, nil
}

// e164 is a phone number in E.164 form: +, a country code, at most 15
// digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// validate checks what a carrier would refuse.
func validate(m mfa.Message) error {
	switch m.Channel {
	case mfa.ChannelSMS, mfa.ChannelVoice:
		if !e164.MatchString(m.To) {
			return mfa.InvalidField("to", "the recipient is not a phone number in E.164 form (+ and up to 15 digits)")
		}
		if m.Channel == mfa.ChannelVoice && m.TxID == "" {
			return mfa.InvalidField("txid", "a call needs the transaction it collects the answer of")
		}
	case mfa.ChannelEmail:
		if !isEmail(m.To) {
			return mfa.InvalidField("to", "the recipient is not an email address")
		}
	default:
		return mfa.InvalidField("channel", "unknown channel: want sms, phone or email")
	}
	if strings.TrimSpace(string(m.Body)) == "" {
		return mfa.InvalidField("body", "the message body is empty")
	}
	return nil
}

// isEmail reports whether s is a bare address (no display name, no angle
// brackets, no line breaks).
func isEmail(s string) bool {
	if s == "" || strings.ContainsAny(s, "\r\n<> ") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
