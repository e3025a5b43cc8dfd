package admin

import (
	"io"
	"log/slog"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Service runs administrative operations against a store.
type Service struct {
	store  mfa.Store
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	hasher PasswordHasher
}

// New makes a Service. now, random and logger are required.
func New(store mfa.Store, now func() time.Time, random io.Reader, logger *slog.Logger) *Service {
	return &Service{store: store, now: now, rand: random, log: logger, hasher: DefaultPasswordHasher()}
}
