package admin

import (
	"io"
	"log/slog"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/password"
)

// Service runs administrative operations against a store.
type Service struct {
	store  mfa.Store
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	hasher PasswordHasher
	// userHasher is the cost of users' twostep passwords
	// (password.UserDefault unless WithUserPasswordHasher).
	userHasher PasswordHasher
	// minPasswordLen is the password policy's minimum length.
	minPasswordLen int
	notifier       mfa.Notifier // nil: SMS and email operations are Unavailable
	apiHost        string       // public host[:port] put in activation links; "" makes them Unavailable
	// sbLimits, sb: self-service bypass codes' attempt limits and their
	// in-memory limiters (selfbypass.go).
	sbLimits SelfBypassLimits
	sb       selfBypass
}

// Option configures a Service beyond its required dependencies.
type Option func(*Service)

// WithNotifier sets how the service sends SMS and email (activation
// links, SMS passcodes, enrollment emails).
func WithNotifier(n mfa.Notifier) Option { return func(s *Service) { s.notifier = n } }

// WithPublicHost sets the host (and port, unless 443) that clients and
// apps reach the API at, as put in activation codes and links:
// "twostep.example.com" or "localhost:8443", without a scheme.
func WithPublicHost(host string) Option { return func(s *Service) { s.apiHost = host } }

// WithUserPasswords sets the cost of users' twostep passwords and the
// policy's minimum length (zero values keep password.UserDefault and
// mfa.DefaultMinPasswordLen).
func WithUserPasswords(h PasswordHasher, minLen int) Option {
	return func(s *Service) {
		if h != (PasswordHasher{}) {
			s.userHasher = h
		}
		if minLen > 0 {
			s.minPasswordLen = minLen
		}
	}
}

// New makes a Service. now, random and logger are required.
func New(store mfa.Store, now func() time.Time, random io.Reader, logger *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, now: now, rand: random, log: logger, hasher: DefaultPasswordHasher(),
		userHasher: password.UserDefault(), minPasswordLen: mfa.DefaultMinPasswordLen}
	for _, o := range opts {
		o(s)
	}
	return s
}
