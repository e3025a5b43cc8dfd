package radiusd

import (
	"context"
	"errors"
	"net"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// upstreamRetry is how often a request to the upstream is resent while
// no answer came.
const upstreamRetry = time.Second

// firstFactor asks the client's upstream server to check username and
// password. It returns the upstream's Access-Accept (whose attributes the
// caller copies into its own Access-Accept), or the Access-Reject to send;
// drop is set when the request must go unanswered.
func (s *Server) firstFactor(ctx context.Context, r *request, password string) (resp *radius.Packet, drop bool) {
	up := r.client.Proxy
	log := s.log.With("client", r.client.Name, "remote_ip", r.nas.String(), "username", r.username, "upstream", up.Address)
	out := radius.New(radius.CodeAccessRequest, up.Secret)
	for _, a := range r.pkt.Attributes {
		switch a.Type {
		case rfc2865.UserPassword_Type, attrMessageAuthenticator, rfc2865.State_Type, rfc2865.ProxyState_Type:
			continue
		}
		out.Attributes = append(out.Attributes, a)
	}
	if err := rfc2865.UserPassword_SetString(out, password); err != nil {
		log.Warn("radius: the password does not fit a RADIUS request", "error", err)
		return reject(r.pkt, MsgFirstFactor), false
	}
	ctx, cancel := context.WithTimeout(ctx, up.Timeout)
	defer cancel()
	answer, err := exchange(ctx, out, up.Address)
	switch {
	case errors.Is(err, errBadMsgAuth):
		log.Warn("radius: the upstream's answer has a bad Message-Authenticator (wrong proxy secret?); request dropped")
		s.cfg.Metrics.Dropped(DropUpstreamForged)
		return nil, true
	case err != nil:
		log.Warn("radius: the upstream server did not answer", "error", err)
		return reject(r.pkt, MsgUpstreamDown), false
	}
	switch answer.Code {
	case radius.CodeAccessAccept:
		return answer, false
	case radius.CodeAccessReject:
		req := s.authRequest(r)
		if err := s.cfg.Flow.DenyFirstFactor(ctx, req); err != nil {
			log.Warn("radius: recording a first-factor deny failed", "error", err)
		}
		rej := reject(r.pkt, "")
		msgs, _ := rfc2865.ReplyMessage_GetStrings(answer)
		for _, m := range msgs {
			rfc2865.ReplyMessage_AddString(rej, m)
		}
		if len(msgs) == 0 {
			addReplyMessage(rej, MsgFirstFactor)
		}
		return rej, false
	default:
		log.Warn("radius: the upstream answered with a code twostep cannot relay", "code", answer.Code.String())
		return reject(r.pkt, "The password server asked a question twostep cannot relay; ask your administrator."), false
	}
}

// exchange sends an Access-Request with a Message-Authenticator to addr,
// resending every upstreamRetry (p's authenticator is the random one
// radius.New made), and returns the first authentic answer.
// An answer whose Message-Authenticator is wrong is errBadMsgAuth.
func exchange(ctx context.Context, p *radius.Packet, addr string) (*radius.Packet, error) {
	wire, err := EncodeRequest(p)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	send := func() { conn.Write(wire) }
	send()
	t := time.NewTicker(upstreamRetry)
	defer t.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				send()
			}
		}
	}()
	buf := make([]byte, radius.MaxPacketLength)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		b := buf[:n]
		if packetLen(b) == 0 || b[1] != wire[1] || !radius.IsAuthenticResponse(b, wire, p.Secret) {
			continue // not an answer to this request
		}
		if err := checkResponse(b, p.Authenticator, p.Secret, false); err != nil {
			return nil, err
		}
		return radius.Parse(b[:packetLen(b)], p.Secret)
	}
}
