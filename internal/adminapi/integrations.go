package adminapi

import (
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Integrations: DUO-WIRE.md 3.8, under /admin/v1, /admin/v2 and /admin/v3
// alike (v3 is what duo_client_python 5.4+ calls, with JSON bodies signed
// v5; the surface reads JSON and form parameters the same way).
// secret_key appears only in the create response and the skey endpoint.

func (h *Handler) integrationRoutes() []route {
	var rs []route
	for _, v := range []string{"v1", "v2", "v3"} {
		base := "/admin/" + v + "/integrations"
		rs = append(rs,
			route{"GET " + base, h.listIntegrations},
			route{"POST " + base, h.createIntegration},
			route{"GET " + base + "/{integration_key}", h.getIntegration},
			route{"POST " + base + "/{integration_key}", h.modifyIntegration},
			route{"DELETE " + base + "/{integration_key}", h.deleteIntegration},
		)
	}
	return append(rs, route{"GET /admin/v1/integrations/{integration_key}/skey", h.getIntegrationSecret})
}

type integrationObject struct {
	IntegrationKey        string   `json:"integration_key"`
	SecretKey             string   `json:"secret_key,omitempty"`
	Name                  string   `json:"name"`
	Type                  string   `json:"type"`
	EnrollPolicy          string   `json:"enroll_policy"`
	AdminAPIAdmins        int      `json:"adminapi_admins"`
	AdminAPIInfo          int      `json:"adminapi_info"`
	AdminAPIIntegrations  int      `json:"adminapi_integrations"`
	AdminAPIReadLog       int      `json:"adminapi_read_log"`
	AdminAPIReadResource  int      `json:"adminapi_read_resource"`
	AdminAPISettings      int      `json:"adminapi_settings"`
	AdminAPIWriteResource int      `json:"adminapi_write_resource"`
	RefuseBypassCodes     int      `json:"refuse_bypass_codes"`
	AllowV1Signatures     int      `json:"allow_v1_signatures"`
	TrustedDeviceDays     int      `json:"trusted_device_days"`
	Greeting              string   `json:"greeting"`
	Notes                 string   `json:"notes"`
	RedirectURIs          []string `json:"redirect_uris,omitempty"` // websdk and oidc
	GroupsAllowed         []string `json:"groups_allowed"`
	Created               int64    `json:"created"`
	// oidc only
	PublicClient           *int     `json:"public_client,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// newIntegrationObject renders an integration; the secret only when
// withSecret.
func newIntegrationObject(in mfa.Integration, withSecret bool) integrationObject {
	p := in.Permissions
	o := integrationObject{IntegrationKey: in.IKey, Name: in.Name, Type: string(in.Type), EnrollPolicy: string(in.EnrollPolicy),
		AdminAPIAdmins: bit(p.Admins), AdminAPIInfo: bit(p.Info), AdminAPIIntegrations: bit(p.Integrations),
		AdminAPIReadLog: bit(p.ReadLog), AdminAPIReadResource: bit(p.ReadResource), AdminAPISettings: bit(p.Settings),
		AdminAPIWriteResource: bit(p.WriteResource), RefuseBypassCodes: bit(in.RefuseBypassCodes),
		AllowV1Signatures: bit(in.AllowV1Signatures), TrustedDeviceDays: in.TrustedDeviceDays,
		Greeting: in.Greeting, Notes: in.Notes, RedirectURIs: in.RedirectURIs, Created: in.Created.Unix(),
		GroupsAllowed: append([]string{}, in.GroupsAllowed...)}
	if in.Type == mfa.IntegrationOIDC {
		pc := bit(in.PublicClient)
		o.PublicClient, o.PostLogoutRedirectURIs = &pc, in.PostLogoutRedirectURIs
	}
	// A public OIDC client has no secret to show.
	if withSecret && !(in.Type == mfa.IntegrationOIDC && in.PublicClient) {
		o.SecretKey = string(in.SKey.Reveal())
	}
	return o
}

// unsupportedIntegrationParams are Duo integration settings twostep does
// not implement. A request carrying one is refused (400 naming it) rather
// than answered OK without the restriction the caller asked for.
var unsupportedIntegrationParams = []string{"ip_whitelist", "ip_whitelist_enroll_policy",
	"networks_for_api_access", "username_normalization_policy", "sso", "user_access", "policy_key",
	"prompt_v4_enabled"}

func integrationFields(c *api.Caller) (admin.IntegrationFields, error) {
	for _, name := range unsupportedIntegrationParams {
		if has(c, name) {
			return admin.IntegrationFields{}, badParam(name, "not implemented by twostep")
		}
	}
	// Duo: self-service (the Device Management Portal) is off unless
	// allowed; twostep has none, so only "off" can be honoured.
	if ss, err := optBool(c, "self_service_allowed"); err != nil {
		return admin.IntegrationFields{}, err
	} else if ss != nil && *ss {
		return admin.IntegrationFields{}, badParam("self_service_allowed", "not implemented by twostep (no self-service portal)")
	}
	// visual_style is deprecated and ignored by Duo: ignored here too.
	f := admin.IntegrationFields{Name: optString(c, "name"), Type: optString(c, "type"),
		EnrollPolicy: optString(c, "enroll_policy"), Greeting: optString(c, "greeting"), Notes: optString(c, "notes")}
	var err error
	bools := []struct {
		name string
		dst  **bool
	}{
		{"adminapi_admins", &f.Permissions.Admins}, {"adminapi_info", &f.Permissions.Info},
		{"adminapi_integrations", &f.Permissions.Integrations}, {"adminapi_read_log", &f.Permissions.ReadLog},
		{"adminapi_read_resource", &f.Permissions.ReadResource}, {"adminapi_settings", &f.Permissions.Settings},
		{"adminapi_write_resource", &f.Permissions.WriteResource},
		{"refuse_bypass_codes", &f.RefuseBypassCodes}, {"allow_v1_signatures", &f.AllowV1Signatures},
	}
	for _, b := range bools {
		if *b.dst, err = optBool(c, b.name); err != nil {
			return f, err
		}
	}
	if f.TrustedDeviceDays, err = optInt(c, "trusted_device_days"); err != nil {
		return f, err
	}
	// Duo (and duo_client_python): any value resets the secret key.
	f.ResetSecretKey = has(c, "reset_secret_key")
	if has(c, "groups_allowed") {
		// Duo: a comma-separated list of group ids; empty admits everyone.
		ids, err := listParam(c, "groups_allowed")
		if err != nil {
			return f, err
		}
		f.GroupsAllowed = &ids
	}
	if v := optString(c, "redirect_uris"); v != nil {
		uris := strings.Split(*v, ",")
		f.RedirectURIs = &uris
	}
	if f.PublicClient, err = optBool(c, "public_client"); err != nil {
		return f, err
	}
	if v := optString(c, "post_logout_redirect_uris"); v != nil {
		uris := strings.Split(*v, ",")
		f.PostLogoutRedirectURIs = &uris
	}
	return f, nil
}

func (h *Handler) listIntegrations(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	ins, total, err := h.svc.ListIntegrations(r.Context(), actor(c), p)
	if err != nil {
		return err
	}
	out := make([]integrationObject, 0, len(ins))
	for _, in := range ins {
		out = append(out, newIntegrationObject(in, false))
	}
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func (h *Handler) createIntegration(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := integrationFields(c)
	if err != nil {
		return err
	}
	in, err := h.svc.CreateIntegration(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newIntegrationObject(in, true))
	return nil
}

func (h *Handler) getIntegration(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	in, err := h.svc.GetIntegration(r.Context(), actor(c), r.PathValue("integration_key"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newIntegrationObject(in, false))
	return nil
}

func (h *Handler) getIntegrationSecret(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	in, err := h.svc.IntegrationSecret(r.Context(), actor(c), r.PathValue("integration_key"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newIntegrationObject(in, true))
	return nil
}

func (h *Handler) modifyIntegration(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := integrationFields(c)
	if err != nil {
		return err
	}
	in, err := h.svc.UpdateIntegration(r.Context(), actor(c), r.PathValue("integration_key"), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newIntegrationObject(in, false))
	return nil
}

func (h *Handler) deleteIntegration(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteIntegration(r.Context(), actor(c), r.PathValue("integration_key")))
}
