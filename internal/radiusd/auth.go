package radiusd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Reply-Messages of answers radiusd decides itself.
const (
	MsgNoUsername    = "Your device sent no user name."
	MsgNoPassword    = "Your device sent no password: twostep needs PAP (User-Password)."
	MsgAppendFactor  = "Add a passcode, or push, phone or sms, after your password with a comma: password,123456 or password,push."
	MsgTypeFactor    = "Type a passcode from your authenticator app, or push, phone or sms, in the password field."
	MsgNoAnswer      = "No answer from your phone in time. Try again."
	MsgFirstFactor   = "Incorrect user name or password."
	MsgUpstreamDown  = "The password server did not answer. Try again later."
	MsgStoreDown     = "twostep cannot reach its database. Try again later."
	MsgInternal      = "twostep could not check your login. Try again, or contact your administrator."
	MsgFailSafe      = "Accepted without a second factor: twostep's database is unreachable."
	MsgChallengeGone = "This login prompt has expired or was already answered. Log in again."
)

// request is what one Access-Request asks.
type request struct {
	client   *Client
	nas      netip.Addr
	pkt      *radius.Packet
	username string
	password string // the User-Password field, decrypted
	hasPass  bool
	userIP   string // Calling-Station-Id when it is an IP address
}

// serve decides one Access-Request, verified and from a known client, and
// returns the answer, or nil to drop it.
func (s *Server) serve(ctx context.Context, c *Client, nas netip.Addr, pkt *radius.Packet) *radius.Packet {
	r := &request{client: c, nas: nas, pkt: pkt, username: rfc2865.UserName_GetString(pkt)}
	if pw, err := rfc2865.UserPassword_LookupString(pkt); err == nil {
		r.password, r.hasPass = pw, true
	}
	if cs := strings.TrimSpace(rfc2865.CallingStationID_GetString(pkt)); cs != "" {
		if a, err := netip.ParseAddr(cs); err == nil {
			r.userIP = a.Unmap().String()
		}
	}
	if r.username == "" {
		return reject(pkt, MsgNoUsername)
	}
	if !r.hasPass {
		return reject(pkt, MsgNoPassword)
	}
	if c.Mode == ModeChallenge {
		if st, err := rfc2865.State_Lookup(pkt); err == nil {
			return s.answerChallenge(ctx, r, st)
		}
		return s.startChallenge(ctx, r)
	}
	return s.appendMode(ctx, r)
}

// appendMode decides a request whose password field carries the second
// factor (append), or may (auto: none means push).
func (s *Server) appendMode(ctx context.Context, r *request) *radius.Packet {
	password, factor := splitPassword(r.password, r.client.FirstFactor != FirstFactorNone)
	if factor == "" && r.client.Mode == ModeAppend && r.client.FirstFactor != FirstFactorNone {
		return reject(r.pkt, MsgAppendFactor) // before asking the upstream anything
	}
	var reply radius.Attributes
	if r.client.FirstFactor == FirstFactorProxy {
		up, drop := s.firstFactor(ctx, r, password)
		if drop {
			return nil
		}
		if up.Code != radius.CodeAccessAccept {
			return up
		}
		reply = up.Attributes
	}
	if r.client.FirstFactor == FirstFactorLocal {
		if rej := s.localFirstFactor(ctx, r, password); rej != nil {
			return rej
		}
	}
	if r.client.FirstFactor == FirstFactorNone && !IsFactor(factor) {
		factor = "" // no factor typed: auto mode pushes, append mode says what to type
	}
	req := s.authRequest(r)
	switch {
	case factor != "":
		req.Factor, req.Passcode = mfa.FactorPasscode, mfa.Passcode(factor)
	case r.client.Mode == ModeAuto:
		req.Factor, req.Device = mfa.FactorAuto, "auto"
	case r.client.FirstFactor == FirstFactorNone:
		return reject(r.pkt, MsgTypeFactor)
	default:
		return reject(r.pkt, MsgAppendFactor)
	}
	return s.decide(ctx, r, req, reply)
}

// authRequest is the engine request of r, factor aside.
func (s *Server) authRequest(r *request) authflow.AuthRequest {
	return authflow.AuthRequest{
		Integration: r.client.Integration(),
		Who:         authflow.Who{Username: r.username},
		IP:          r.userIP,
		Hostname:    r.nas.String(),
		PushType:    "VPN login",
	}
}

// decide asks the engine and maps its answer: allow is Access-Accept
// (with the upstream's reply attributes), deny Access-Reject, and an
// error by its kind.
func (s *Server) decide(ctx context.Context, r *request, req authflow.AuthRequest, reply radius.Attributes) *radius.Packet {
	res, err := s.cfg.Flow.Auth(ctx, req)
	if err != nil {
		return s.failed(ctx, r, err, reply)
	}
	if res.Result == authflow.ResultAllow {
		return accept(r.pkt, reply, res.StatusMsg)
	}
	return reject(r.pkt, res.StatusMsg)
}

// failed maps an engine error to an answer: failmode safe accepts when
// (only when) the store is unreachable.
func (s *Server) failed(ctx context.Context, r *request, err error, reply radius.Attributes) *radius.Packet {
	log := s.log.With("client", r.client.Name, "remote_ip", r.nas.String(), "username", r.username)
	if errors.Is(err, mfa.ErrStoreUnreachable) {
		if r.client.Failmode == FailSafe {
			log.WarnContext(ctx, "radius: failmode safe: accepted without a second factor because the database is unreachable",
				"result", "allow", "error", err)
			return accept(r.pkt, reply, MsgFailSafe)
		}
		log.WarnContext(ctx, "radius: failmode secure: rejected because the database is unreachable", "result", "deny", "error", err)
		return reject(r.pkt, MsgStoreDown)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return reject(r.pkt, MsgNoAnswer)
	}
	var me *mfa.Error
	if errors.As(err, &me) {
		switch me.Kind {
		case mfa.Invalid, mfa.Denied, mfa.Unauthorized, mfa.NotFound:
			return reject(r.pkt, sentence(me.Msg))
		case mfa.RateLimited:
			msg := "Too many attempts: " + me.Msg + "."
			if me.RetryAfter > 0 {
				msg += fmt.Sprintf(" Try again in %s.", me.RetryAfter.Round(time.Second).String())
			}
			return reject(r.pkt, msg)
		case mfa.Unavailable:
			return reject(r.pkt, sentence(me.Msg))
		}
	}
	if ctx.Err() != nil {
		return reject(r.pkt, MsgNoAnswer)
	}
	log.ErrorContext(ctx, "radius: deciding a request failed", "error", err)
	return reject(r.pkt, MsgInternal)
}

// sentence capitalises msg and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return MsgInternal
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// maxReplyMessage is the most text one attribute holds.
const maxReplyMessage = 253

// addReplyMessage adds msg as one or more Reply-Message attributes.
func addReplyMessage(p *radius.Packet, msg string) {
	for len(msg) > 0 {
		n := min(len(msg), maxReplyMessage)
		rfc2865.ReplyMessage_AddString(p, msg[:n])
		msg = msg[n:]
	}
}

func reject(req *radius.Packet, msg string) *radius.Packet {
	p := req.Response(radius.CodeAccessReject)
	addReplyMessage(p, msg)
	return p
}

// accept answers Access-Accept with the upstream's reply attributes (its
// Message-Authenticator and Proxy-State aside) and msg, unless the
// upstream sent a Reply-Message of its own.
func accept(req *radius.Packet, reply radius.Attributes, msg string) *radius.Packet {
	p := req.Response(radius.CodeAccessAccept)
	hasMsg := false
	for _, a := range reply {
		switch a.Type {
		case attrMessageAuthenticator, rfc2865.ProxyState_Type:
			continue
		case rfc2865.ReplyMessage_Type:
			hasMsg = true
		}
		p.Attributes = append(p.Attributes, a)
	}
	if !hasMsg && msg != "" {
		addReplyMessage(p, msg)
	}
	return p
}
