package radiusd

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"

	"layeh.com/radius"
)

// attrMessageAuthenticator is RFC 3579's Message-Authenticator (type 80).
const attrMessageAuthenticator = 80

// Reasons a request without an answer is dropped (metric label values).
const (
	DropUnknownSource  = "unknown_source"
	DropMalformed      = "malformed"
	DropNotRequest     = "not_access_request"
	DropNoMsgAuth      = "missing_message_authenticator"
	DropBadMsgAuth     = "bad_message_authenticator" // a wrong shared secret lands here too
	DropInFlight       = "duplicate_in_flight"
	DropOverloaded     = "overloaded"
	DropClosing        = "shutting_down"
	DropUpstreamForged = "upstream_bad_message_authenticator"
)

var (
	errNoMsgAuth  = errors.New("no Message-Authenticator")
	errBadMsgAuth = errors.New("bad Message-Authenticator")
)

// findMsgAuth returns the offset of the one Message-Authenticator value in
// a packet whose length field was checked, or an error: none, several, or
// one of the wrong length.
func findMsgAuth(b []byte) (int, error) {
	at := -1
	for i := 20; i+2 <= len(b); {
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			return 0, errBadMsgAuth
		}
		if b[i] == attrMessageAuthenticator {
			if at >= 0 || l != 18 {
				return 0, errBadMsgAuth
			}
			at = i + 2
		}
		i += l
	}
	if at < 0 {
		return 0, errNoMsgAuth
	}
	return at, nil
}

// checkRequest verifies the Message-Authenticator of request b (its
// length already checked): HMAC-MD5 under secret over the packet with the
// attribute's value zeroed.
func checkRequest(b, secret []byte) error {
	at, err := findMsgAuth(b)
	if err != nil {
		return err
	}
	c := make([]byte, len(b))
	copy(c, b)
	clear(c[at : at+16])
	mac := hmac.New(md5.New, secret)
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), b[at:at+16]) {
		return errBadMsgAuth
	}
	return nil
}

// checkResponse verifies a response's Message-Authenticator, computed with
// the request's authenticator in place of the response's. A response
// without one passes only when required is false.
func checkResponse(b []byte, reqAuth [16]byte, secret []byte, required bool) error {
	at, err := findMsgAuth(b)
	if errors.Is(err, errNoMsgAuth) && !required {
		return nil
	}
	if err != nil {
		return err
	}
	c := make([]byte, len(b))
	copy(c, b)
	copy(c[4:20], reqAuth[:])
	clear(c[at : at+16])
	mac := hmac.New(md5.New, secret)
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), b[at:at+16]) {
		return errBadMsgAuth
	}
	return nil
}

// encodeResponse encodes an answer to a request with authenticator
// reqAuth: Message-Authenticator first (computed over the packet holding
// the request authenticator, RFC 3579 3.2), then the Response
// Authenticator over the whole, Message-Authenticator included.
func encodeResponse(p *radius.Packet, reqAuth [16]byte, secret []byte) ([]byte, error) {
	q := *p
	q.Attributes = append(radius.Attributes{{Type: attrMessageAuthenticator, Attribute: make(radius.Attribute, 16)}}, p.Attributes...)
	q.Authenticator = reqAuth
	b, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, secret)
	mac.Write(b)
	copy(b[22:38], mac.Sum(nil)) // the first attribute's value
	h := md5.New()
	h.Write(b[:4])
	h.Write(reqAuth[:])
	h.Write(b[20:])
	h.Write(secret)
	copy(b[4:20], h.Sum(nil))
	return b, nil
}

// EncodeRequest encodes an Access-Request with a Message-Authenticator,
// first among its attributes, as a BlastRADIUS-safe NAS (or radiusd, to
// its upstream) sends it. p's authenticator is used as it is.
func EncodeRequest(p *radius.Packet) ([]byte, error) {
	q := *p
	q.Attributes = append(radius.Attributes{{Type: attrMessageAuthenticator, Attribute: make(radius.Attribute, 16)}}, p.Attributes...)
	b, err := q.Encode() // an Access-Request's authenticator is sent as it is
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(b)
	copy(b[22:38], mac.Sum(nil))
	return b, nil
}

// packetLen returns the length field of b when b holds a whole packet of
// at least the header's size, or 0.
func packetLen(b []byte) int {
	if len(b) < 20 {
		return 0
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 20 || n > radius.MaxPacketLength || n > len(b) {
		return 0
	}
	return n
}
