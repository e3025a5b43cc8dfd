package mfa

import (
	"context"
	"time"
)

// Channel is how a message reaches a person.
type Channel string

// Channels.
const (
	ChannelSMS   Channel = "sms"
	ChannelVoice Channel = "phone"
	ChannelEmail Channel = "email"
)

// Message is one SMS, voice call or email to a person. Body may carry
// secrets (passcodes, activation links): adapters deliver it and never log
// it.
type Message struct {
	Channel Channel
	To      string // E.164 number (SMS, voice) or email address
	Subject string // email only
	Body    Passcode
	Context string // "authentication", "enrollment" or "administrator", for the telephony log
	UserID  string
	TxID    string // voice: the transaction whose answer the call collects
	// Extension is dialled once a voice call is answered (a desk phone
	// behind a switchboard); carriers wait their configured pre-delay
	// before dialling it.
	Extension string
	// ExtensionPreDelay and ExtensionPostDelay, when set (the phone's
	// predelay/postdelay), replace the carrier's configured delays before
	// and after dialling Extension; nil keeps the carrier's.
	ExtensionPreDelay, ExtensionPostDelay *time.Duration
}

// Notifier delivers messages. Implementations: notify/outbox (the
// development default: messages land in files in the data directory),
// notify/twilio, notify/webhook, notify/smtp. Send returns Unavailable when the carrier is
// down, so callers can say so.
type Notifier interface {
	Send(ctx context.Context, m Message) error
}

// Receipt is what a carrier tells about a message or call it took.
type Receipt struct {
	// CarrierID is the carrier's id of it (Twilio's MessageSid or CallSid,
	// the webhook's call id or the id its answer named); "" if none. The
	// telephony log keeps it; status callbacks find the record by it.
	CarrierID string
	// Segments is how many SMS segments the carrier bills; 0 = unknown.
	Segments int
}

// Credits is what a message on ch costs in the telephony log: an SMS one
// credit per segment (1 when the carrier did not say), a call 1 (a call
// costs one per started minute, and every call ends within a minute: the
// carriers' MaxCallTime and the push timeout).
func (r Receipt) Credits(ch Channel) int {
	if ch == ChannelSMS && r.Segments > 1 {
		return r.Segments
	}
	return 1
}

// Deliverer is a Notifier that also returns the carrier's receipt.
// Implementations: notify/twilio, notify/webhook, and routers passing it
// through.
type Deliverer interface {
	Notifier
	Deliver(ctx context.Context, m Message) (Receipt, error)
}

// Deliver sends m through n and returns n's receipt when n is a
// Deliverer (an empty one otherwise). Errors are Send's.
func Deliver(ctx context.Context, n Notifier, m Message) (Receipt, error) {
	if d, ok := n.(Deliverer); ok {
		return d.Deliver(ctx, m)
	}
	return Receipt{}, n.Send(ctx, m)
}
