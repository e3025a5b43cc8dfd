package main

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/config"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/radiusd"
	"github.com/twostep-auth/twostep/internal/seal"
	"github.com/twostep-auth/twostep/internal/server"
)

// radiusClients turns the validated [[radius.clients]] tables into
// radiusd clients.
func radiusClients(cfg config.Config) ([]radiusd.Client, error) {
	var out []radiusd.Client
	for _, c := range cfg.Radius.Clients {
		rc := radiusd.Client{
			Name: c.Name, Secret: []byte(c.Secret.Reveal()), FirstFactor: c.FirstFactor, Mode: c.Mode,
			Failmode: c.Failmode, EnrollPolicy: mfa.EnrollPolicy(c.EnrollPolicy), Timeout: c.Timeout,
		}
		for _, n := range c.Networks {
			p, err := config.ParseNetwork(n)
			if err != nil {
				return nil, fmt.Errorf("radius client %q: %w", c.Name, err)
			}
			rc.Networks = append(rc.Networks, p)
		}
		if c.FirstFactor == config.RadiusFirstFactorProxy {
			rc.Proxy = radiusd.Upstream{Address: c.Proxy.Address, Secret: []byte(c.Proxy.Secret.Reveal()), Timeout: c.Proxy.Timeout}
		}
		out = append(out, rc)
	}
	return out, nil
}

// storeRadiusIntegrations keeps one integration of type radius per RADIUS
// client, named after it (see radiusd.Client.Integration): created when
// missing, its name and enroll policy updated when the configuration
// changed. Its secret key is random and never shown: it calls no API.
func storeRadiusIntegrations(ctx context.Context, st mfa.IntegrationStore, clients []radiusd.Client) error {
	for _, c := range clients {
		want := c.Integration()
		have, err := st.GetIntegration(ctx, want.IKey)
		switch {
		case errors.Is(err, mfa.ErrNotFound):
			skey, err := mfa.RandomString(rand.Reader, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40)
			if err != nil {
				return err
			}
			want.SKey = mfa.Secret(skey)
			want.Created = time.Now()
			want.Notes = "RADIUS client from [[radius.clients]] in twostepd's configuration"
			if err := st.CreateIntegration(ctx, want); err != nil && !errors.Is(err, mfa.ErrConflict) {
				return fmt.Errorf("store the integration of radius client %q: %w", c.Name, err)
			}
		case err != nil:
			return fmt.Errorf("read the integration of radius client %q: %w", c.Name, err)
		case have.Type != mfa.IntegrationRadius:
			return fmt.Errorf("radius client %q: integration %s exists with type %s", c.Name, want.IKey, have.Type)
		case have.Name != want.Name || have.EnrollPolicy != want.EnrollPolicy:
			have.Name, have.EnrollPolicy = want.Name, want.EnrollPolicy
			if err := st.UpdateIntegration(ctx, have); err != nil {
				return fmt.Errorf("update the integration of radius client %q: %w", c.Name, err)
			}
		}
	}
	return nil
}

// radiusStore is what the RADIUS front end needs of the store.
type radiusStore interface {
	mfa.IntegrationStore
	mfa.ReplayStore
}

// radiusStateKeys derives the keys that authenticate challenge States
// from the master keys (current first), which every node sharing the
// database has.
func radiusStateKeys(k *keyring) [][]byte {
	var out [][]byte
	for _, mk := range append([]seal.Key{k.current}, k.others...) {
		dk, err := hkdf.Key(sha256.New, mk.Material[:], nil, "twostep radius state v1 "+mk.ID, 32)
		if err != nil {
			panic(err) // only for a length sha256 cannot make
		}
		out = append(out, dk)
	}
	return out
}

// startRadius listens on radius.listen and answers Access-Requests until
// the returned stop is called. It returns a nil stop when RADIUS is off.
func startRadius(ctx context.Context, cfg config.Config, st radiusStore, stateKeys [][]byte, flow *authflow.Service, m *server.RadiusMetrics, log *slog.Logger) (stop func(), err error) {
	if cfg.Radius.Listen == "" {
		return nil, nil
	}
	clients, err := radiusClients(cfg)
	if err != nil {
		return nil, err
	}
	if err := storeRadiusIntegrations(ctx, st, clients); err != nil {
		return nil, err
	}
	rs, err := radiusd.New(radiusd.Config{Clients: clients, Flow: flow, Metrics: m, Replay: st, StateKeys: stateKeys,
		Logger: log, Now: time.Now, Rand: rand.Reader})
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenPacket("udp", cfg.Radius.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (radius.listen): %w", cfg.Radius.Listen, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := rs.Serve(conn); err != nil {
			log.Error("radius listener failed", "error", err)
		}
	}()
	addr := conn.LocalAddr().String()
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		addr = ap.String()
	}
	log.Info("radius listening", "addr", addr, "clients", len(clients))
	return func() {
		rs.Close()
		conn.Close()
		<-done
	}, nil
}
