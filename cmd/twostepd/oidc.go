package main

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/oidc"
)

// oidcRotateCmd rotates the OIDC provider's signing key at once (as after
// a suspected key compromise): a new key signs from now on, and the old
// keys stay in the JWKS only as long as tokens they signed can live.
// Without it, keys rotate every oidc.key_rotation by themselves.
type oidcRotateCmd struct{}

func (oidcRotateCmd) run(e *env) error {
	cfg, log, dir, unlock, err := e.prepare()
	if err != nil {
		return err
	}
	defer unlock()
	st, _, err := openChecked(e.ctx, cfg, dir, log)
	if err != nil {
		return err
	}
	defer st.Close()
	h := oidc.New(oidc.Deps{Store: st, Hosts: cfg.PublicHostnames, Now: time.Now, Rand: rand.Reader, Logger: log})
	kid, err := oidc.NewProvider(h, st, cfg.OIDC.KeyRotation).RotateKeys(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new OIDC signing key %s; the previous keys stay published for %s\n", kid,
		formatMinutes(oidc.AccessTokenLifetime+oidc.Leeway))
	return nil
}

func formatMinutes(d time.Duration) string { return fmt.Sprintf("%d minutes", int(d.Minutes())) }
