package console

import (
	"net/http"
	"slices"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// OutboxReader reads the development outbox (the "outbox" carrier writes
// SMS, calls and emails there instead of sending them), oldest first.
// internal/server adapts internal/notify/outbox to it: the console, an
// edge, does not import the adapter.
type OutboxReader interface {
	OutboxMessages() ([]OutboxMessage, error)
}

// OutboxMessage is one message of the development outbox.
type OutboxMessage struct {
	Time    time.Time
	Channel mfa.Channel
	To      string
	Subject string
	Body    mfa.Passcode
}

// maxOutbox bounds the outbox page: the newest messages.
const maxOutbox = 200

// outboxView is the outbox page's model.
type outboxView struct {
	Messages  []outboxMessage
	Truncated int // how many older messages are not shown
}

// outboxMessage is one message of the page.
type outboxMessage struct {
	OutboxMessage
	Kind, Text string
}

// outboxRole: the outbox shows passcodes and links meant for users, so
// only Owners and Administrators read it.
func outboxRole(c req) bool {
	return c.Admin.Role == mfa.RoleOwner || c.Admin.Role == mfa.RoleAdministrator
}

// outboxPage serves GET /console/outbox: with the development carrier
// "outbox" only (else 404), the SMS, calls and emails written there,
// newest first.
func (p *Pages) outboxPage(w http.ResponseWriter, r *http.Request, c req) error {
	if p.outbox == nil {
		return mfa.NotFoundf("no outbox: messages go through a real carrier")
	}
	if !outboxRole(c) {
		return mfa.E(mfa.Denied, "Only Owners and Administrators can read the outbox.")
	}
	all, err := p.outbox.OutboxMessages()
	if err != nil {
		return err
	}
	slices.Reverse(all)
	var v outboxView
	if len(all) > maxOutbox {
		v.Truncated = len(all) - maxOutbox
		all = all[:maxOutbox]
	}
	for _, s := range all {
		m := outboxMessage{OutboxMessage: s, Kind: string(s.Channel), Text: string(s.Body)}
		switch s.Channel {
		case mfa.ChannelSMS:
			m.Kind = "SMS"
		case mfa.ChannelVoice:
			m.Kind = "call"
		case mfa.ChannelEmail:
			m.Kind = "email"
		}
		v.Messages = append(v.Messages, m)
	}
	return p.tmpl.Render(w, r, http.StatusOK, "outbox.html", p.view(c, msgOutboxTitle, "/console/outbox", v))
}
