package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/datadir"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/outbox"
)

// outboxCmd reads the development outbox (<data>/outbox) and answers the
// calls in it, so that the whole SMS and call flow works on one machine.
type outboxCmd struct {
	List   outboxListCmd   `cmd:"" default:"withargs" help:"List messages and calls, oldest first (the default)."`
	Answer outboxAnswerCmd `cmd:"" help:"Press a key on a pending call: 1 approves, 9 reports fraud (hangup and no-answer end it without a key)."`
}

type outboxListCmd struct {
	JSON   bool          `name:"json" help:"Print one JSON array of objects (kind, to, time, text, ...)."`
	Follow bool          `short:"f" help:"Keep printing new messages as they arrive (one JSON object a line with --json)."`
	Every  time.Duration `name:"poll" default:"500ms" hidden:"" help:"How often --follow looks for new messages."`
}

// outboxJSON is one message of `twostepd outbox --json`.
type outboxJSON struct {
	Kind      string    `json:"kind"` // sms, phone or email
	To        string    `json:"to"`
	Time      time.Time `json:"time"`
	Subject   string    `json:"subject,omitempty"`
	Text      string    `json:"text"`
	Context   string    `json:"context,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	CallID    string    `json:"call_id,omitempty"` // calls: what outbox answer takes
	Extension string    `json:"extension,omitempty"`
	File      string    `json:"file"`
}

func toJSON(s outbox.Stored) outboxJSON {
	return outboxJSON{Kind: string(s.Channel), To: s.To, Time: s.Time, Subject: s.Subject, Text: string(s.Body),
		Context: s.Context, UserID: s.UserID, CallID: s.TxID, Extension: s.Extension, File: s.File}
}

// openOutbox opens the outbox of the configured data directory (without
// creating a data directory that does not exist).
func (e *env) openOutbox() (*outbox.Outbox, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return nil, err
	}
	dir, err := datadir.Open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return outbox.New(dir.File("outbox"), time.Now)
}

func (c outboxListCmd) run(e *env) error {
	ob, err := e.openOutbox()
	if err != nil {
		return err
	}
	all, err := ob.List()
	if err != nil {
		return err
	}
	if !c.Follow {
		if c.JSON {
			out := make([]outboxJSON, 0, len(all))
			for _, s := range all {
				out = append(out, toJSON(s))
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		if len(all) == 0 {
			fmt.Fprintf(e.stdout, "The outbox %s is empty.\n", ob.Dir())
		}
		for _, s := range all {
			printStored(e.stdout, s)
		}
		return nil
	}
	// Follow: print what is there, then what arrives, until interrupted.
	seen := ""
	every := c.Every
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, s := range all {
			if s.File <= seen {
				continue
			}
			seen = s.File
			if c.JSON {
				b, err := json.Marshal(toJSON(s))
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s\n", b)
			} else {
				printStored(e.stdout, s)
			}
		}
		select {
		case <-e.ctx.Done():
			return nil
		case <-t.C:
		}
		if all, err = ob.List(); err != nil {
			return err
		}
	}
}

// printStored prints one message for a person.
func printStored(w io.Writer, s outbox.Stored) {
	kind := map[mfa.Channel]string{mfa.ChannelSMS: "SMS", mfa.ChannelVoice: "CALL", mfa.ChannelEmail: "EMAIL"}[s.Channel]
	if kind == "" {
		kind = strings.ToUpper(string(s.Channel))
	}
	fmt.Fprintf(w, "%s  %-5s to %s", s.Time.Local().Format("2006-01-02 15:04:05"), kind, s.To)
	if s.Extension != "" {
		fmt.Fprintf(w, " ext. %s", s.Extension)
	}
	if s.Context != "" {
		fmt.Fprintf(w, " (%s)", s.Context)
	}
	fmt.Fprintln(w)
	if s.Subject != "" {
		fmt.Fprintf(w, "    Subject: %s\n", s.Subject)
	}
	for _, line := range strings.Split(strings.TrimRight(string(s.Body), "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", line)
	}
	if s.Channel == mfa.ChannelVoice && s.TxID != "" {
		fmt.Fprintf(w, "    answer: twostepd outbox answer %s 1   (or 9 to report fraud)\n", s.TxID)
	}
	fmt.Fprintln(w)
}

type outboxAnswerCmd struct {
	CallID string `arg:"" name:"call-id" help:"The call's id (call_id in outbox --json; the transaction id)."`
	Key    string `arg:"" name:"key" help:"1 approves, 9 reports fraud; hangup or no-answer end the call without a key."`
}

func (c outboxAnswerCmd) run(e *env) error {
	end, isEnd := authflow.ParseCallEnd(c.Key)
	if c.Key != "1" && c.Key != "9" && !isEnd {
		return usageError{fmt.Errorf("key %q: want 1 (approve), 9 (report fraud), hangup or no-answer", c.Key)}
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if cfg.DatabaseKind() == config.SQLite {
		if _, err := os.Stat(cfg.SQLitePath()); err != nil {
			return fmt.Errorf("no database at %s (start twostepd serve with the same --data/--config first): %w", cfg.SQLitePath(), err)
		}
	}
	cfg, log, dir, unlock, err := e.prepare()
	if err != nil {
		return err
	}
	st, _, err := openChecked(e.ctx, cfg, dir, log)
	unlock()
	if err != nil {
		return err
	}
	defer st.Close()
	// The same engine path as the carriers' callbacks; the fraud email
	// goes to the outbox too.
	ob, err := outbox.New(dir.File("outbox"), time.Now)
	if err != nil {
		return err
	}
	flow := authflow.New(st, time.Now, rand.Reader, log, authflow.WithNotifier(ob))
	if isEnd {
		err = flow.EndCall(e.ctx, c.CallID, end)
	} else {
		err = flow.AnswerCall(e.ctx, c.CallID, c.Key)
	}
	switch {
	case mfa.KindOf(err) == mfa.NotFound:
		return fmt.Errorf("no call %s: %w", c.CallID, err)
	case errors.Is(err, authflow.ErrExpired):
		return fmt.Errorf("call %s has already ended: the login request timed out", c.CallID)
	case errors.Is(err, authflow.ErrAlreadyAnswered) || mfa.KindOf(err) == mfa.Conflict:
		return fmt.Errorf("call %s has already ended", c.CallID)
	case err != nil:
		return err
	}
	what := map[string]string{"1": "approved", "9": "reported as fraud"}[c.Key]
	if what == "" {
		what = "ended (" + c.Key + ")"
	}
	fmt.Fprintf(e.stdout, "call %s %s\n", c.CallID, what)
	return nil
}
