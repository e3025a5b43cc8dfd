package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

const integrationCols = `ikey, skey, name, type, permissions, enroll_policy, allow_v1_signatures,
	refuse_bypass_codes, trusted_device_days, greeting, notes, redirect_uris, groups_allowed, created, public_client, post_logout_redirect_uris`

func (s *Store) scanIntegration(r rowScanner) (mfa.Integration, error) {
	var in mfa.Integration
	var skey []byte
	var perms, uris, groups, logoutURIs string
	err := r.Scan(&in.IKey, &skey, &in.Name, &in.Type, &perms, &in.EnrollPolicy, &in.AllowV1Signatures,
		&in.RefuseBypassCodes, &in.TrustedDeviceDays, &in.Greeting, &in.Notes, &uris, &groups, scanTime{&in.Created},
		&in.PublicClient, &logoutURIs)
	if err != nil {
		return mfa.Integration{}, err
	}
	if err := json.Unmarshal([]byte(perms), &in.Permissions); err != nil {
		return mfa.Integration{}, fmt.Errorf("integration %s: permissions: %w", in.IKey, err)
	}
	if err := json.Unmarshal([]byte(uris), &in.RedirectURIs); err != nil {
		return mfa.Integration{}, fmt.Errorf("integration %s: redirect_uris: %w", in.IKey, err)
	}
	if len(in.RedirectURIs) == 0 {
		in.RedirectURIs = nil
	}
	if err := json.Unmarshal([]byte(groups), &in.GroupsAllowed); err != nil {
		return mfa.Integration{}, fmt.Errorf("integration %s: groups_allowed: %w", in.IKey, err)
	}
	if len(in.GroupsAllowed) == 0 {
		in.GroupsAllowed = nil
	}
	if err := json.Unmarshal([]byte(logoutURIs), &in.PostLogoutRedirectURIs); err != nil {
		return mfa.Integration{}, fmt.Errorf("integration %s: post_logout_redirect_uris: %w", in.IKey, err)
	}
	if len(in.PostLogoutRedirectURIs) == 0 {
		in.PostLogoutRedirectURIs = nil
	}
	if in.SKey, err = s.open(skey, "integrations", "skey", in.IKey); err != nil {
		return mfa.Integration{}, err
	}
	return in, nil
}

// redirectURIsJSON renders a list of strings (an integration's redirect
// URIs or allowed groups) as a JSON array ("[]" for none).
func redirectURIsJSON(uris []string) string {
	if uris == nil {
		uris = []string{}
	}
	b, _ := json.Marshal(uris) // strings always marshal
	return string(b)
}

func permissionsJSON(p mfa.AdminPermissions) string {
	b, _ := json.Marshal(p) // a struct of bools always marshals
	return string(b)
}

// CreateIntegration stores a new integration; its skey is sealed.
func (s *Store) CreateIntegration(ctx context.Context, in mfa.Integration) error {
	skey, err := s.seal(in.SKey, "integrations", "skey", in.IKey)
	if err != nil {
		return err
	}
	_, err = s.writer().exec(ctx, `INSERT INTO integrations (`+integrationCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.IKey, skey, in.Name, in.Type, permissionsJSON(in.Permissions), in.EnrollPolicy, in.AllowV1Signatures,
		in.RefuseBypassCodes, in.TrustedDeviceDays, in.Greeting, in.Notes, redirectURIsJSON(in.RedirectURIs), redirectURIsJSON(in.GroupsAllowed), in.Created,
		in.PublicClient, redirectURIsJSON(in.PostLogoutRedirectURIs))
	return s.dbErr(ctx, "create integration", err)
}

// GetIntegration returns the integration with ikey, from the
// configuration cache when it holds it (configcache.go).
func (s *Store) GetIntegration(ctx context.Context, ikey string) (mfa.Integration, error) {
	in, gen, ok := s.cfg.integration(ikey)
	inTx := s.txFrom(ctx) != nil // the cache holds committed values only
	ok = ok && !inTx
	if ok {
		return in, nil
	}
	s.startListener()
	at := s.now()
	in, err := s.scanIntegration(s.reader().row(ctx, `SELECT `+integrationCols+` FROM integrations WHERE ikey = ?`, ikey))
	if err != nil {
		return mfa.Integration{}, s.dbErr(ctx, "get integration", err, notFound("integration not found"))
	}
	if !inTx {
		s.cfg.putIntegration(gen, in, at)
	}
	return in, nil
}

// ListIntegrations lists integrations in creation order.
func (s *Store) ListIntegrations(ctx context.Context, p mfa.Page) ([]mfa.Integration, int, error) {
	return list(ctx, s, "list integrations", integrationCols, "integrations", &where{}, "created, ikey", p, s.scanIntegration)
}

// UpdateIntegration writes every field but IKey and Created.
func (s *Store) UpdateIntegration(ctx context.Context, in mfa.Integration) error {
	skey, err := s.seal(in.SKey, "integrations", "skey", in.IKey)
	if err != nil {
		return err
	}
	const op = "update integration"
	defer s.configCommitted(ctx)
	return s.writeTx(ctx, op, func(c dbtx) error {
		n, err := c.execN(ctx, `UPDATE integrations SET skey = ?, name = ?, type = ?, permissions = ?,
			enroll_policy = ?, allow_v1_signatures = ?, refuse_bypass_codes = ?, trusted_device_days = ?,
			greeting = ?, notes = ?, redirect_uris = ?, groups_allowed = ?, public_client = ?, post_logout_redirect_uris = ? WHERE ikey = ?`,
			skey, in.Name, in.Type, permissionsJSON(in.Permissions), in.EnrollPolicy, in.AllowV1Signatures,
			in.RefuseBypassCodes, in.TrustedDeviceDays, in.Greeting, in.Notes, redirectURIsJSON(in.RedirectURIs),
			redirectURIsJSON(in.GroupsAllowed), in.PublicClient, redirectURIsJSON(in.PostLogoutRedirectURIs), in.IKey)
		if err := s.affected(ctx, op, n, err, "integration not found"); err != nil {
			return err
		}
		return s.configChanged(ctx, c)
	})
}

// DeleteIntegration deletes the integration.
func (s *Store) DeleteIntegration(ctx context.Context, ikey string) error {
	const op = "delete integration"
	defer s.configCommitted(ctx)
	return s.writeTx(ctx, op, func(c dbtx) error {
		n, err := c.execN(ctx, `DELETE FROM integrations WHERE ikey = ?`, ikey)
		if err := s.affected(ctx, op, n, err, "integration not found"); err != nil {
			return err
		}
		return s.configChanged(ctx, c)
	})
}
