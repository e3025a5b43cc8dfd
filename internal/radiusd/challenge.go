package radiusd

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Challenge mode: after the first factor, the answer is Access-Challenge
// with a State and Duo's menu in Reply-Message; the NAS shows the menu and
// sends the person's answer (a passcode or an option number) in a new
// Access-Request carrying that State.
//
// The State is the whole challenge, authenticated, so that any node that
// shares the database can take the answer: a version byte, a random
// nonce, the expiry, a hash of the client's name, the menu's options, the
// upstream's reply attributes (proxy) and the user name, followed by a
// truncated HMAC-SHA256 under a key derived from the master key (nodes
// sharing a database share it). It is single use through the store's
// replay claims (mfa.ReplayStore), which every node sees: the nonce is
// claimed before the answer is tried, so a State is refused the second
// time on any node. The NAS sees nothing it does not already know.

const (
	stateVersion  = 1
	stateNonceLen = 16
	stateTagLen   = 16
	// maxState is the most one State attribute holds.
	maxState = 253
)

// Messages of challenge mode.
const (
	MsgMenuHead    = "Enter a passcode or select one of the following options:"
	MsgPasscodeAsk = "Enter a passcode from your authenticator app or hardware token, or a bypass code:"
	MsgStateTooBig = "Your user name, devices or the password server's reply do not fit a RADIUS challenge; ask your administrator to use append mode."
)

// challenge is what a State carries.
type challenge struct {
	nonce    [stateNonceLen]byte
	expires  time.Time
	client   [8]byte
	options  []option
	reply    []byte // encoded attributes for the Access-Accept
	username string
}

// option is one menu line: a method of the factor table and a device's
// position (from 1) in preauth's list.
type option struct {
	method byte
	device byte
}

func (o option) keyword() string {
	return authflow.AllMethods()[o.method].Keyword + strconv.Itoa(int(o.device))
}

func clientHash(name string) (h [8]byte) {
	sum := sha256.Sum256([]byte(name))
	copy(h[:], sum[:])
	return h
}

// encodeState seals c with the first of keys.
func encodeState(c challenge, key []byte) ([]byte, error) {
	b := []byte{stateVersion}
	b = append(b, c.nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.expires.Unix()))
	b = append(b, c.client[:]...)
	b = append(b, byte(len(c.options)))
	for _, o := range c.options {
		b = append(b, o.method, o.device)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.reply)))
	b = append(b, c.reply...)
	b = append(b, c.username...)
	b = append(b, stateTag(key, b)...)
	if len(b) > maxState {
		return nil, errStateTooBig
	}
	return b, nil
}

var (
	errStateTooBig = errors.New("state too big")
	errBadState    = errors.New("bad state")
)

func stateTag(key, b []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("twostep radius state\x00"))
	mac.Write(b)
	return mac.Sum(nil)[:stateTagLen]
}

// decodeState checks b's tag against every key and reads it. It does not
// check the expiry.
func decodeState(b []byte, keys [][]byte) (challenge, error) {
	var c challenge
	const fixed = 1 + stateNonceLen + 8 + 8 + 1
	if len(b) < fixed+2+stateTagLen || b[0] != stateVersion {
		return c, errBadState
	}
	body, tag := b[:len(b)-stateTagLen], b[len(b)-stateTagLen:]
	ok := false
	for _, k := range keys {
		ok = ok || hmac.Equal(stateTag(k, body), tag)
	}
	if !ok {
		return c, errBadState
	}
	copy(c.nonce[:], body[1:])
	c.expires = time.Unix(int64(binary.BigEndian.Uint64(body[1+stateNonceLen:])), 0)
	copy(c.client[:], body[1+stateNonceLen+8:])
	n := int(body[fixed-1])
	rest := body[fixed:]
	if len(rest) < 2*n+2 {
		return c, errBadState
	}
	for i := range n {
		c.options = append(c.options, option{rest[2*i], rest[2*i+1]})
	}
	rest = rest[2*n:]
	rl := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) < rl {
		return c, errBadState
	}
	c.reply, c.username = rest[:rl], string(rest[rl:])
	return c, nil
}

// startChallenge answers the first request of challenge mode: first factor,
// then preauth; a user who must do the second step gets the menu.
func (s *Server) startChallenge(ctx context.Context, r *request) *radius.Packet {
	var reply radius.Attributes
	if r.client.FirstFactor == FirstFactorProxy {
		up, drop := s.firstFactor(ctx, r, r.password)
		if drop {
			return nil
		}
		if up.Code != radius.CodeAccessAccept {
			return up
		}
		reply = up.Attributes
	}
	if r.client.FirstFactor == FirstFactorLocal {
		if rej := s.localFirstFactor(ctx, r, r.password); rej != nil {
			return rej
		}
	}
	pre, err := s.cfg.Flow.Preauth(ctx, authflow.PreauthRequest{Integration: r.client.Integration(),
		Who: authflow.Who{Username: r.username}, IP: r.userIP, Hostname: r.nas.String()})
	if err != nil {
		return s.failed(ctx, r, err, reply)
	}
	if pre.Result != authflow.ResultAuth {
		// Allowed, denied or not enrolled: the engine decides it (and logs
		// it) without sending anything.
		req := s.authRequest(r)
		req.Factor, req.Device = mfa.FactorAuto, "auto"
		return s.decide(ctx, r, req, reply)
	}
	var opts []option
	var menu strings.Builder
	all := authflow.AllMethods()
	for i, d := range pre.Devices {
		if d.Type != authflow.DevicePhone || i >= 255 {
			continue
		}
		for _, m := range authflow.Methods(d) {
			if m.MenuLabel == "" {
				continue
			}
			for mi := range all {
				if all[mi].Factor == m.Factor {
					opts = append(opts, option{byte(mi), byte(i + 1)})
				}
			}
			fmt.Fprintf(&menu, " %d. "+m.MenuLabel+"\n", len(opts), deviceName(d))
		}
	}
	text := MsgPasscodeAsk
	if len(opts) > 0 {
		text = MsgMenuHead + "\n\n" + menu.String() + "\nPasscode or option (1-" + strconv.Itoa(len(opts)) + "):"
	}
	return s.challenge(r, opts, reply, text)
}

// challenge answers Access-Challenge with a fresh State and text.
func (s *Server) challenge(r *request, opts []option, reply radius.Attributes, text string) *radius.Packet {
	c := challenge{expires: s.cfg.Now().Add(s.cfg.ChallengeLifetime), client: clientHash(r.client.Name),
		options: opts, username: r.username}
	if _, err := io.ReadFull(s.cfg.Rand, c.nonce[:]); err != nil {
		s.log.Error("radius: random state", "error", err)
		return reject(r.pkt, MsgInternal)
	}
	for _, a := range reply {
		if a.Type == attrMessageAuthenticator || a.Type == rfc2865.ProxyState_Type {
			continue
		}
		c.reply = append(c.reply, byte(a.Type), byte(len(a.Attribute)+2))
		c.reply = append(c.reply, a.Attribute...)
	}
	st, err := encodeState(c, s.cfg.StateKeys[0])
	if err != nil {
		s.log.Warn("radius: challenge state too large", "client", r.client.Name, "username", r.username, "error", err)
		return reject(r.pkt, MsgStateTooBig)
	}
	p := r.pkt.Response(radius.CodeAccessChallenge)
	rfc2865.State_Set(p, st)
	addReplyMessage(p, text)
	return p
}

// answerChallenge decides the answer to a challenge: its State must be
// authentic, for this client and user, unexpired and unused.
func (s *Server) answerChallenge(ctx context.Context, r *request, state []byte) *radius.Packet {
	c, err := decodeState(state, s.cfg.StateKeys)
	now := s.cfg.Now()
	if err != nil || c.client != clientHash(r.client.Name) || c.username != r.username || !now.Before(c.expires) {
		return reject(r.pkt, MsgChallengeGone)
	}
	key := mfa.SignatureKey(IKeyOf(r.client.Name), 0, "radius-state:"+hex.EncodeToString(c.nonce[:]))
	if err := s.cfg.Replay.ClaimSignature(ctx, key, now, c.expires.Add(time.Second)); err != nil {
		if errors.Is(err, mfa.ErrConflict) {
			return reject(r.pkt, MsgChallengeGone)
		}
		reply, _ := radius.ParseAttributes(c.reply)
		return s.failed(ctx, r, err, reply)
	}
	reply, err := radius.ParseAttributes(c.reply)
	if err != nil {
		return reject(r.pkt, MsgChallengeGone)
	}
	answer := strings.TrimSpace(r.password)
	req := s.authRequest(r)
	req.Factor, req.Passcode = mfa.FactorPasscode, mfa.Passcode(answer)
	if n, err := strconv.Atoi(answer); err == nil && len(answer) <= 3 && n >= 1 && n <= len(c.options) {
		req.Passcode = mfa.Passcode(c.options[n-1].keyword())
	} else if !IsFactor(answer) {
		return s.challenge(r, c.options, reply, "Type a passcode or an option number.\n"+MsgPasscodeAsk)
	}
	res, err := s.cfg.Flow.Auth(ctx, req)
	if err != nil {
		return s.failed(ctx, r, err, reply)
	}
	switch {
	case res.Result == authflow.ResultAllow:
		return accept(r.pkt, reply, res.StatusMsg)
	case res.Status == authflow.StatusSent:
		// New SMS passcodes: ask again, for one of them.
		return s.challenge(r, c.options, reply, res.StatusMsg+". Enter one of them:")
	}
	return reject(r.pkt, res.StatusMsg)
}

// deviceName is how a menu line names a device.
func deviceName(d authflow.Device) string {
	for _, s := range []string{d.DisplayName, d.Number, d.Name} {
		if s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, s); strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return "your device"
}
