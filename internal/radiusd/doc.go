// Package radiusd is twostep's RADIUS front end: VPN concentrators,
// firewalls and Wi-Fi controllers (NASes) send Access-Requests, and each
// becomes the same authflow call the Auth API makes (Auth, Preauth), with
// one authentication-log record per decision written by authflow.
//
// It owns the RADIUS edge and nothing else:
//   - which NAS may ask: a client is a set of source networks and a shared
//     secret; anything else is dropped without an answer;
//   - BlastRADIUS: every Access-Request must carry a valid
//     Message-Authenticator (RFC 3579), and every answer carries one, first
//     among its attributes; drops are counted through Metrics;
//   - retransmissions (RFC 5080: same source, identifier and request
//     authenticator) are answered from a short-lived cache, so a NAS that
//     resends never spends a second passcode or sends a second push;
//   - reading the second factor out of the password field (append mode),
//     the Access-Challenge menu (challenge mode), pushing by default (auto
//     mode), and the first factor: none, or an upstream RADIUS server
//     (proxy);
//   - mapping engine answers and error kinds to Access-Accept,
//     Access-Reject or Access-Challenge with a Reply-Message a person can
//     act on; failmode safe accepts only when the store is unreachable
//     (mfa.ErrStoreUnreachable), and logs it.
//
// It uses layeh.com/radius for the packet format and attribute codecs
// but runs its own UDP loop instead of radius.PacketServer, which can
// neither count drops, verify Message-Authenticator, nor answer
// retransmissions from a cache.
//
// radiusd is an edge: it must not import sqlstore, notify or another edge
// (internal/archtest).
package radiusd
