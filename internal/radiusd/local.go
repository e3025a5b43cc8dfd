package radiusd

import (
	"context"
	"errors"

	"layeh.com/radius"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// localFirstFactor checks username and password with twostep itself
// (first_factor = "local": a twostep password or a directory bind, as
// first_factor.radius lists) and returns the Access-Reject to send, or nil
// when the password is right. A wrong password is logged and counts
// towards the lockout (authflow.CheckPassword does both). With the
// database unreachable nothing can be checked, so failmode safe does not
// apply: the request is rejected.
func (s *Server) localFirstFactor(ctx context.Context, r *request, password string) *radius.Packet {
	if password == "" {
		return reject(r.pkt, MsgFirstFactor)
	}
	_, err := s.cfg.Flow.CheckPassword(ctx, authflow.PasswordRequest{Surface: authflow.SurfaceRADIUS,
		Integration: r.client.Integration(), Username: r.username, Password: mfa.Passcode(password),
		IP: r.userIP, Hostname: r.nas.String()})
	if err == nil {
		return nil
	}
	var me *mfa.Error
	switch {
	case errors.Is(err, mfa.ErrStoreUnreachable):
		s.log.WarnContext(ctx, "radius: rejected: the first factor cannot be checked with the database unreachable",
			"client", r.client.Name, "remote_ip", r.nas.String(), "username", r.username)
		return reject(r.pkt, MsgStoreDown)
	case errors.As(err, &me) && me.Kind == mfa.Unauthorized:
		return reject(r.pkt, MsgFirstFactor)
	}
	return s.failed(ctx, r, err, nil)
}
