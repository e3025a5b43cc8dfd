package mfa

import "context"

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
}

// Notifier delivers messages. Implementations: notify/outbox (the
// development default: messages land in files in the data directory),
// carriers' adapters later. Send returns Unavailable when the carrier is
// down, so callers can say so.
type Notifier interface {
	Send(ctx context.Context, m Message) error
}
