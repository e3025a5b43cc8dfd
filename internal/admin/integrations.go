package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// PermissionFields are the adminapi_* flags a request sets; nil is not
// provided.
type PermissionFields struct {
	Admins        *bool
	Info          *bool
	Integrations  *bool
	ReadLog       *bool
	ReadResource  *bool
	Settings      *bool
	WriteResource *bool
}

// IntegrationFields are the integration attributes a create or modify
// request sets; a nil field is not provided.
type IntegrationFields struct {
	Name              *string
	Type              *string // create only: authapi, adminapi, unix, websdk or oidc
	Permissions       PermissionFields
	EnrollPolicy      *string
	RefuseBypassCodes *bool
	AllowV1Signatures *bool // unix only; default: true for unix
	TrustedDeviceDays *int  // 0..365
	Greeting          *string
	Notes             *string
	RedirectURIs      *[]string // websdk and oidc; at least one, each mfa.CheckRedirectURI
	GroupsAllowed     *[]string // group ids; empty admits every user
	ResetSecretKey    bool      // modify only: give the integration a new secret key
	// OIDC clients only.
	PublicClient           *bool     // no client secret; PKCE required
	PostLogoutRedirectURIs *[]string // where end_session may return the browser
}

// MaxTrustedDeviceDays bounds an integration's remembered-device period.
const MaxTrustedDeviceDays = 365

// manageAction is what managing an integration of typ needs.
func manageAction(typ mfa.IntegrationType) Action {
	if typ == mfa.IntegrationAdminAPI {
		return ManageAdminAPI
	}
	return ManageIntegrations
}

// ListIntegrations lists integrations. Their SKey fields are cleared: the
// secret is shown only on creation and by IntegrationSecret.
func (s *Service) ListIntegrations(ctx context.Context, a Actor, p mfa.Page) ([]mfa.Integration, int, error) {
	if err := s.authorize(ctx, a, ReadIntegrations); err != nil {
		return nil, 0, err
	}
	ins, total, err := s.store.ListIntegrations(ctx, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list integrations: %w", err)
	}
	for i := range ins {
		ins[i].SKey = nil
	}
	return ins, total, nil
}

// GetIntegration returns one integration without its secret.
func (s *Service) GetIntegration(ctx context.Context, a Actor, ikey string) (mfa.Integration, error) {
	if err := s.authorize(ctx, a, ReadIntegrations); err != nil {
		return mfa.Integration{}, err
	}
	in, err := s.store.GetIntegration(ctx, ikey)
	if err != nil {
		return mfa.Integration{}, fmt.Errorf("get integration: %w", err)
	}
	in.SKey = nil
	return in, nil
}

// IntegrationSecret returns an integration with its secret key. Reading a
// secret needs the right to manage that kind of integration and, for an
// Admin API integration, every permission it holds (coversIntegration),
// and is recorded in the administrator log.
func (s *Service) IntegrationSecret(ctx context.Context, a Actor, ikey string) (mfa.Integration, error) {
	if err := s.authorize(ctx, a, ReadIntegrations); err != nil {
		return mfa.Integration{}, err
	}
	in, err := s.store.GetIntegration(ctx, ikey)
	if err != nil {
		return mfa.Integration{}, fmt.Errorf("integration secret: %w", err)
	}
	if err := s.authorize(ctx, a, manageAction(in.Type)); err != nil {
		return mfa.Integration{}, err
	}
	if err := coversIntegration(a, in, "read the secret of", false); err != nil {
		return mfa.Integration{}, err
	}
	if err := s.logChange(ctx, a, "integration_skey_read", "integration", ikey, describe(map[string]any{"name": in.Name})); err != nil {
		return mfa.Integration{}, err
	}
	return in, nil
}

// CreateIntegration creates an integration with Duo-shaped keys and
// returns it with its secret key (the only time, besides
// IntegrationSecret, that the secret leaves the store).
func (s *Service) CreateIntegration(ctx context.Context, a Actor, f IntegrationFields) (mfa.Integration, error) {
	if f.Type == nil {
		return mfa.Integration{}, mfa.InvalidField("type", "required: authapi, adminapi, unix, websdk or oidc")
	}
	typ := mfa.IntegrationType(strings.ToLower(strings.TrimSpace(*f.Type)))
	// Radius integrations come from [[radius.clients]] in twostepd's
	// configuration, not from administrators.
	if !typ.Valid() || typ == mfa.IntegrationRadius {
		// Authorize on the least privileged kind first, so that bad input
		// from someone who may manage nothing is still Denied.
		if err := s.authorize(ctx, a, ManageIntegrations); err != nil {
			return mfa.Integration{}, err
		}
		return mfa.Integration{}, mfa.InvalidField("type", "must be authapi, adminapi, unix, websdk or oidc")
	}
	if err := s.authorize(ctx, a, manageAction(typ)); err != nil {
		return mfa.Integration{}, err
	}
	if f.Name == nil || strings.TrimSpace(*f.Name) == "" {
		return mfa.Integration{}, mfa.InvalidField("name", "required")
	}
	in, err := s.newIntegration("", typ)
	if err != nil {
		return mfa.Integration{}, fmt.Errorf("create integration: %w", err)
	}
	if err := applyIntegrationFields(a, &in, f); err != nil {
		return mfa.Integration{}, err
	}
	if typ == mfa.IntegrationWebSDK && len(in.RedirectURIs) == 0 {
		return mfa.Integration{}, mfa.InvalidField("redirect_uris",
			"required for websdk: the comma-separated URLs the Universal Prompt may send the browser back to")
	}
	if typ == mfa.IntegrationOIDC && len(in.RedirectURIs) == 0 {
		return mfa.Integration{}, mfa.InvalidField("redirect_uris",
			"required for oidc: the comma-separated URLs the provider may send the browser back to with a code")
	}
	if err := coversIntegration(a, in, "create", true); err != nil {
		return mfa.Integration{}, err
	}
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if f.GroupsAllowed != nil {
			var err error
			if in.GroupsAllowed, err = s.checkGroupsAllowed(ctx, *f.GroupsAllowed); err != nil {
				return err
			}
		}
		if err := s.store.CreateIntegration(ctx, in); err != nil {
			return fmt.Errorf("create integration: %w", err)
		}
		return s.logChange(ctx, a, "integration_create", "integration", in.IKey, describe(integrationLog(in)))
	})
	if err != nil {
		return mfa.Integration{}, err
	}
	return in, nil
}

// UpdateIntegration changes the provided fields of an integration. The
// type cannot change, and an integration cannot take away its own
// adminapi_integrations permission. An Admin API integration can be
// changed only by a caller holding every permission it holds, before and
// after the change (coversIntegration).
func (s *Service) UpdateIntegration(ctx context.Context, a Actor, ikey string, f IntegrationFields) (mfa.Integration, error) {
	if err := s.authorize(ctx, a, ReadIntegrations); err != nil {
		return mfa.Integration{}, err
	}
	var in mfa.Integration
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		var err error
		if in, err = s.store.GetIntegration(ctx, ikey); err != nil {
			return fmt.Errorf("update integration: %w", err)
		}
		if err := s.authorize(ctx, a, manageAction(in.Type)); err != nil {
			return err
		}
		if err := coversIntegration(a, in, "change", false); err != nil {
			return err
		}
		if f.Type != nil && mfa.IntegrationType(strings.ToLower(strings.TrimSpace(*f.Type))) != in.Type {
			return mfa.InvalidField("type", "cannot be changed")
		}
		if f.Name != nil && strings.TrimSpace(*f.Name) == "" {
			return mfa.InvalidField("name", "cannot be empty")
		}
		if err := applyIntegrationFields(a, &in, f); err != nil {
			return err
		}
		if f.ResetSecretKey {
			skey, err := mfa.RandomString(s.rand, skeyAlphabet, 40)
			if err != nil {
				return fmt.Errorf("update integration: %w", err)
			}
			in.SKey = mfa.Secret(skey)
		}
		if a.Kind == ActorIntegration && a.ID == in.IKey && !in.Permissions.Integrations {
			return mfa.InvalidField("adminapi_integrations",
				"an integration cannot remove its own permission to manage integrations")
		}
		if err := coversIntegration(a, in, "change", true); err != nil {
			return err
		}
		if f.GroupsAllowed != nil {
			if in.GroupsAllowed, err = s.checkGroupsAllowed(ctx, *f.GroupsAllowed); err != nil {
				return err
			}
		}
		if err := s.store.UpdateIntegration(ctx, in); err != nil {
			return fmt.Errorf("update integration: %w", err)
		}
		desc := integrationLog(in)
		if f.ResetSecretKey {
			desc["secret_key_reset"] = true
		}
		return s.logChange(ctx, a, "integration_update", "integration", in.IKey, describe(desc))
	})
	if err != nil {
		return mfa.Integration{}, err
	}
	in.SKey = nil
	return in, nil
}

// DeleteIntegration deletes an integration; an integration cannot delete
// itself, and an Admin API integration can be deleted only by a caller
// holding every permission it holds. An unknown ikey is NotFound.
func (s *Service) DeleteIntegration(ctx context.Context, a Actor, ikey string) error {
	if err := s.authorize(ctx, a, ReadIntegrations); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		in, err := s.store.GetIntegration(ctx, ikey)
		if err != nil {
			return fmt.Errorf("delete integration: %w", err)
		}
		if err := s.authorize(ctx, a, manageAction(in.Type)); err != nil {
			return err
		}
		if err := coversIntegration(a, in, "delete", false); err != nil {
			return err
		}
		if a.Kind == ActorIntegration && a.ID == ikey {
			return mfa.InvalidField("integration_key", "an integration cannot delete itself")
		}
		if err := s.store.DeleteIntegration(ctx, ikey); err != nil {
			return fmt.Errorf("delete integration: %w", err)
		}
		return s.logChange(ctx, a, "integration_delete", "integration", ikey, describe(map[string]any{"name": in.Name, "type": in.Type}))
	})
}

func applyIntegrationFields(a Actor, in *mfa.Integration, f IntegrationFields) error {
	if f.Name != nil {
		n, err := checkText("name", *f.Name, maxTextLen, false)
		if err != nil {
			return err
		}
		in.Name = n
	}
	perms := []struct {
		field string
		v     *bool
		dst   *bool
		own   bool
	}{
		{"adminapi_admins", f.Permissions.Admins, &in.Permissions.Admins, a.Perms.Admins},
		{"adminapi_info", f.Permissions.Info, &in.Permissions.Info, a.Perms.Info},
		{"adminapi_integrations", f.Permissions.Integrations, &in.Permissions.Integrations, a.Perms.Integrations},
		{"adminapi_read_log", f.Permissions.ReadLog, &in.Permissions.ReadLog, a.Perms.ReadLog},
		{"adminapi_read_resource", f.Permissions.ReadResource, &in.Permissions.ReadResource, a.Perms.ReadResource},
		{"adminapi_settings", f.Permissions.Settings, &in.Permissions.Settings, a.Perms.Settings},
		{"adminapi_write_resource", f.Permissions.WriteResource, &in.Permissions.WriteResource, a.Perms.WriteResource},
	}
	for _, p := range perms {
		if p.v == nil {
			continue
		}
		if *p.v && in.Type != mfa.IntegrationAdminAPI {
			return mfa.InvalidField(p.field, "only adminapi integrations have Admin API permissions")
		}
		// An integration cannot hand out more than it holds.
		if *p.v && !*p.dst && a.Kind == ActorIntegration && !p.own {
			return mfa.Errorf(mfa.Denied, "this integration may not grant %s, which it does not hold", p.field)
		}
		*p.dst = *p.v
	}
	if f.EnrollPolicy != nil {
		ep := mfa.EnrollPolicy(strings.ToLower(strings.TrimSpace(*f.EnrollPolicy)))
		if !ep.Valid() {
			return mfa.InvalidField("enroll_policy", "must be enroll, allow or deny")
		}
		in.EnrollPolicy = ep
	}
	if f.RefuseBypassCodes != nil {
		in.RefuseBypassCodes = *f.RefuseBypassCodes
	}
	if f.AllowV1Signatures != nil {
		// v1 signatures carry no date, so they cannot be refused as
		// replays: only duo_unix (unix integrations) needs them.
		if *f.AllowV1Signatures && in.Type != mfa.IntegrationUnix {
			return mfa.InvalidField("allow_v1_signatures", "only unix integrations may accept timestamp-less v1 signatures")
		}
		in.AllowV1Signatures = *f.AllowV1Signatures
	}
	if f.TrustedDeviceDays != nil {
		if d := *f.TrustedDeviceDays; d < 0 || d > MaxTrustedDeviceDays {
			return mfa.InvalidField("trusted_device_days", fmt.Sprintf("must be between 0 and %d", MaxTrustedDeviceDays))
		}
		in.TrustedDeviceDays = *f.TrustedDeviceDays
	}
	if f.Greeting != nil {
		g, err := checkText("greeting", *f.Greeting, maxTextLen, false)
		if err != nil {
			return err
		}
		in.Greeting = g
	}
	if f.Notes != nil {
		n, err := checkText("notes", *f.Notes, maxNotesLen, true)
		if err != nil {
			return err
		}
		in.Notes = n
	}
	if f.RedirectURIs != nil {
		uris, err := checkRedirectURIs(in.Type, *f.RedirectURIs)
		if err != nil {
			return err
		}
		in.RedirectURIs = uris
	}
	if f.PublicClient != nil {
		if in.Type != mfa.IntegrationOIDC {
			return mfa.InvalidField("public_client", "only oidc integrations can be public clients")
		}
		in.PublicClient = *f.PublicClient
	}
	if f.PostLogoutRedirectURIs != nil {
		if in.Type != mfa.IntegrationOIDC {
			return mfa.InvalidField("post_logout_redirect_uris", "only oidc integrations have post-logout redirect URIs")
		}
		uris, err := checkURIList("post_logout_redirect_uris", *f.PostLogoutRedirectURIs, false)
		if err != nil {
			return err
		}
		in.PostLogoutRedirectURIs = uris
	}
	return nil
}

// checkURIList validates a list of redirect URIs for field (blank entries
// dropped, duplicates kept once, order kept); required: at least one.
func checkURIList(field string, give []string, required bool) ([]string, error) {
	var uris []string
	seen := map[string]bool{}
	for _, u := range give {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		if err := mfa.CheckRedirectURI(u); err != nil {
			var me *mfa.Error
			if errors.As(err, &me) {
				return nil, mfa.InvalidField(field, me.Msg)
			}
			return nil, err
		}
		uris = append(uris, u)
	}
	switch {
	case required && len(uris) == 0:
		return nil, mfa.InvalidField(field, "at least one URI is required")
	case len(uris) > mfa.MaxRedirectURIs:
		return nil, mfa.InvalidField(field, fmt.Sprintf("at most %d URIs", mfa.MaxRedirectURIs))
	}
	return uris, nil
}

// checkRedirectURIs validates a websdk integration's redirect URIs (blank
// entries dropped, duplicates kept once, order kept).
func checkRedirectURIs(typ mfa.IntegrationType, give []string) ([]string, error) {
	var uris []string
	seen := map[string]bool{}
	for _, u := range give {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		if err := mfa.CheckRedirectURI(u); err != nil {
			return nil, err
		}
		uris = append(uris, u)
	}
	switch {
	case typ != mfa.IntegrationWebSDK && typ != mfa.IntegrationOIDC:
		return nil, mfa.InvalidField("redirect_uris", "only websdk and oidc integrations have redirect URIs")
	case len(uris) == 0:
		return nil, mfa.InvalidField("redirect_uris", "a "+string(typ)+" integration needs at least one redirect URI")
	case len(uris) > mfa.MaxRedirectURIs:
		return nil, mfa.InvalidField("redirect_uris", fmt.Sprintf("at most %d redirect URIs", mfa.MaxRedirectURIs))
	}
	return uris, nil
}

// integrationLog describes an integration for the admin log: never the
// secret key.
func integrationLog(in mfa.Integration) map[string]any {
	return map[string]any{"name": in.Name, "type": in.Type, "enroll_policy": in.EnrollPolicy,
		"permissions": in.Permissions, "refuse_bypass_codes": in.RefuseBypassCodes,
		"allow_v1_signatures": in.AllowV1Signatures, "trusted_device_days": in.TrustedDeviceDays,
		"redirect_uris": in.RedirectURIs, "groups_allowed": in.GroupsAllowed, "public_client": in.PublicClient,
		"post_logout_redirect_uris": in.PostLogoutRedirectURIs}
}
