package radiusd

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"layeh.com/radius"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Modes, first factors and failmodes of a Client (the config words).
const (
	ModeAppend    = "append"
	ModeChallenge = "challenge"
	ModeAuto      = "auto"

	FirstFactorNone  = "none"
	FirstFactorProxy = "proxy"
	FirstFactorLocal = "local" // twostep's own passwords or a directory bind (first_factor.radius)

	FailSecure = "secure"
	FailSafe   = "safe"
)

// Client is one NAS, or a group of NASes sharing a secret.
type Client struct {
	// Name is the application name of its auth log records.
	Name string
	// Networks are the source addresses it sends from.
	Networks []netip.Prefix
	Secret   []byte
	// FirstFactor is FirstFactorNone, FirstFactorProxy or FirstFactorLocal.
	FirstFactor string
	// Mode is ModeAppend, ModeChallenge or ModeAuto.
	Mode string
	// Failmode is FailSecure or FailSafe.
	Failmode string
	// EnrollPolicy applies to users twostep does not know or who have no
	// device.
	EnrollPolicy mfa.EnrollPolicy
	// Timeout bounds one request's answer, a push's wait included.
	Timeout time.Duration
	// Proxy is the upstream server, with FirstFactorProxy.
	Proxy Upstream
}

// Upstream is an upstream RADIUS server checking the first factor.
type Upstream struct {
	Address string
	Secret  []byte
	Timeout time.Duration
}

// Integration is the integration a client's decisions are made and logged
// under: type radius, named after the client, with a stable ikey derived
// from the name ([IKeyOf]). The server stores it (see twostepd serve) so
// that records written when a push is answered name the client too; the
// configuration, not the stored copy, decides the policy.
func (c *Client) Integration() mfa.Integration {
	return mfa.Integration{IKey: IKeyOf(c.Name), Name: c.Name, Type: mfa.IntegrationRadius, EnrollPolicy: c.EnrollPolicy}
}

// IKeyOf is the ikey of the RADIUS client named name: "DI" and 18
// characters of a hash of the name, the same on every node, so that the
// Admin API can filter the log by client.
func IKeyOf(name string) string {
	sum := sha256.Sum256([]byte("twostep radius client\x00" + name))
	return "DI" + base32.StdEncoding.EncodeToString(sum[:])[:18]
}

// Flow is what radiusd asks of the engine; *authflow.Service is one.
type Flow interface {
	Preauth(ctx context.Context, req authflow.PreauthRequest) (authflow.PreauthResult, error)
	Auth(ctx context.Context, req authflow.AuthRequest) (authflow.AuthResult, error)
	DenyFirstFactor(ctx context.Context, req authflow.AuthRequest) error
	// CheckPassword checks a first factor locally (FirstFactorLocal); it
	// logs a wrong password and counts it towards the lockout.
	CheckPassword(ctx context.Context, req authflow.PasswordRequest) (authflow.FirstFactorResult, error)
}

// Metrics counts what the server does. Dropped is called once per request
// dropped without an answer, with one of the Drop* reasons; Answered once
// per answer sent, with the client's name and the answer's code
// ("Access-Accept", ...) and whether it came from the retransmission
// cache.
type Metrics interface {
	Dropped(reason string)
	Answered(client, code string, cached bool)
}

// Config is what New needs.
type Config struct {
	Clients []Client
	Flow    Flow
	// Replay makes challenge States single use across nodes (required
	// when a client uses ModeChallenge).
	Replay mfa.ReplayStore
	// StateKeys authenticate challenge States: the first signs, every one
	// verifies (derive them from the master keys, which every node
	// sharing the database has). Required with ModeChallenge.
	StateKeys [][]byte
	Metrics   Metrics // nil counts nothing
	Logger    *slog.Logger
	Now       func() time.Time
	// Rand makes challenge states (crypto/rand.Reader in production).
	Rand interface{ Read([]byte) (int, error) }
	// RetransmitWindow is how long an answer is kept for retransmissions
	// of its request; 0 means DefaultRetransmitWindow.
	RetransmitWindow time.Duration
	// MaxInFlight bounds the requests being decided at once; 0 means
	// DefaultMaxInFlight. The excess is dropped (DropOverloaded).
	MaxInFlight int
	// ChallengeLifetime is how long a challenge's State may be answered;
	// 0 means DefaultChallengeLifetime.
	ChallengeLifetime time.Duration
}

// Defaults of Config.
const (
	DefaultRetransmitWindow  = 30 * time.Second
	DefaultMaxInFlight       = 4096
	DefaultChallengeLifetime = 2 * time.Minute
	maxCachedAnswers         = 100000
)

// Server answers Access-Requests on one UDP socket.
type Server struct {
	cfg     Config
	clients []*Client
	log     *slog.Logger
	cache   *answerCache
	slots   chan struct{}
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

// New checks cfg and makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Flow == nil || cfg.Logger == nil || cfg.Now == nil {
		return nil, errors.New("radiusd: Flow, Logger and Now are required")
	}
	if cfg.RetransmitWindow == 0 {
		cfg.RetransmitWindow = DefaultRetransmitWindow
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.ChallengeLifetime == 0 {
		cfg.ChallengeLifetime = DefaultChallengeLifetime
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.MaxInFlight),
		cache: newAnswerCache(cfg.RetransmitWindow, maxCachedAnswers)}
	for i := range cfg.Clients {
		c := cfg.Clients[i]
		if len(c.Secret) == 0 || len(c.Networks) == 0 || c.Timeout <= 0 {
			return nil, fmt.Errorf("radiusd: client %q needs a secret, networks and a timeout", c.Name)
		}
		switch c.Mode {
		case ModeAppend, ModeAuto:
		case ModeChallenge:
			if cfg.Replay == nil || cfg.Rand == nil || len(cfg.StateKeys) == 0 {
				return nil, fmt.Errorf("radiusd: client %q uses challenge mode: Replay, Rand and StateKeys are required", c.Name)
			}
		default:
			return nil, fmt.Errorf("radiusd: client %q: unknown mode %q", c.Name, c.Mode)
		}
		switch c.FirstFactor {
		case FirstFactorNone, FirstFactorLocal:
		case FirstFactorProxy:
			if c.Proxy.Address == "" || len(c.Proxy.Secret) == 0 || c.Proxy.Timeout <= 0 {
				return nil, fmt.Errorf("radiusd: client %q: proxy needs an address, a secret and a timeout", c.Name)
			}
		default:
			return nil, fmt.Errorf("radiusd: client %q: unknown first factor %q", c.Name, c.FirstFactor)
		}
		s.clients = append(s.clients, &c)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// clientOf returns the client whose networks hold addr, or nil.
func (s *Server) clientOf(addr netip.Addr) *Client {
	addr = addr.Unmap()
	for _, c := range s.clients {
		for _, p := range c.Networks {
			if p.Contains(addr) {
				return c
			}
		}
	}
	return nil
}

// Serve answers requests arriving on conn until conn is closed or Close
// is called; it returns nil then. Each request is decided in its own
// goroutine.
func (s *Server) Serve(conn net.PacketConn) error {
	defer s.wg.Wait()
	buf := make([]byte, radius.MaxPacketLength+1)
	for {
		n, src, err := conn.ReadFrom(buf)
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("radius: read: %w", err)
		}
		if s.ctx.Err() != nil {
			s.cfg.Metrics.Dropped(DropClosing)
			continue
		}
		pkt := make([]byte, n)
		copy(pkt, buf[:n])
		s.receive(conn, src, pkt)
	}
}

// Close stops deciding new requests and cancels those being decided (a
// waiting push ends); Serve returns once conn is closed too.
func (s *Server) Close() {
	s.cancel()
}

// receive checks one datagram and starts deciding it.
func (s *Server) receive(conn net.PacketConn, src net.Addr, b []byte) {
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		s.cfg.Metrics.Dropped(DropUnknownSource)
		return
	}
	c := s.clientOf(ua.AddrPort().Addr())
	if c == nil {
		s.cfg.Metrics.Dropped(DropUnknownSource)
		s.log.Debug("radius: dropped a request from an unknown source", "remote_ip", ua.IP.String())
		return
	}
	n := packetLen(b)
	if n == 0 {
		s.cfg.Metrics.Dropped(DropMalformed)
		return
	}
	b = b[:n]
	if radius.Code(b[0]) != radius.CodeAccessRequest {
		s.cfg.Metrics.Dropped(DropNotRequest)
		return
	}
	if err := checkRequest(b, c.Secret); err != nil {
		reason := DropBadMsgAuth
		if errors.Is(err, errNoMsgAuth) {
			reason = DropNoMsgAuth
		}
		s.cfg.Metrics.Dropped(reason)
		s.log.Warn("radius: dropped a request without a valid Message-Authenticator (wrong secret, or a NAS without BlastRADIUS protection)",
			"client", c.Name, "remote_ip", ua.IP.String(), "reason", reason)
		return
	}
	req, err := radius.Parse(b, c.Secret)
	if err != nil {
		s.cfg.Metrics.Dropped(DropMalformed)
		return
	}
	key := cacheKey(ua.AddrPort(), b)
	switch answer, state := s.cache.begin(key, s.cfg.Now()); state {
	case cacheDone:
		if _, err := conn.WriteTo(answer, src); err != nil {
			s.log.Warn("radius: write", "error", err)
		}
		s.cfg.Metrics.Answered(c.Name, radius.Code(answer[0]).String(), true)
		return
	case cacheInFlight:
		s.cfg.Metrics.Dropped(DropInFlight)
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.cache.abandon(key)
		s.cfg.Metrics.Dropped(DropOverloaded)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.slots }()
		ctx, cancel := context.WithTimeout(s.ctx, c.Timeout)
		defer cancel()
		resp := s.serve(ctx, c, ua.AddrPort().Addr().Unmap(), req)
		if resp == nil { // dropped (an upstream's forged answer)
			s.cache.abandon(key)
			return
		}
		out, err := encodeResponse(resp, req.Authenticator, c.Secret)
		if err != nil {
			s.log.Error("radius: encode answer", "client", c.Name, "error", err)
			s.cache.abandon(key)
			return
		}
		s.cache.finish(key, out, s.cfg.Now())
		if _, err := conn.WriteTo(out, src); err != nil {
			s.log.Warn("radius: write", "error", err)
		}
		s.cfg.Metrics.Answered(c.Name, resp.Code.String(), false)
	}()
}

type noMetrics struct{}

func (noMetrics) Dropped(string)                {}
func (noMetrics) Answered(string, string, bool) {}
