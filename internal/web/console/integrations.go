package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// integrationType is one kind of integration the create form offers.
type integrationType struct {
	Value mfa.IntegrationType
	Label string
}

// integrationTypes are the kinds an administrator creates here (RADIUS
// clients come from twostepd's configuration).
var integrationTypes = []integrationType{
	{mfa.IntegrationAuthAPI, "Auth API"},
	{mfa.IntegrationUnix, "Unix (duo_unix, pam_duo)"},
	{mfa.IntegrationWebSDK, "Web SDK (Universal Prompt)"},
	{mfa.IntegrationOIDC, "OpenID Connect client"},
	{mfa.IntegrationAdminAPI, "Admin API"},
}

// typeLabel names an integration type for people.
func typeLabel(t mfa.IntegrationType) string {
	for _, it := range integrationTypes {
		if it.Value == t {
			return it.Label
		}
	}
	if t == mfa.IntegrationRadius {
		return "RADIUS client"
	}
	return string(t)
}

// adminAPIPermission is one Admin API permission checkbox.
type adminAPIPermission struct {
	Name, Label string
	Checked     bool
}

func adminAPIPermissions(r *http.Request) []adminAPIPermission {
	ps := []adminAPIPermission{
		{Name: "adminapi_read_resource", Label: "Read users, devices and groups"},
		{Name: "adminapi_write_resource", Label: "Change users, devices and groups"},
		{Name: "adminapi_read_log", Label: "Read the logs"},
		{Name: "adminapi_settings", Label: "Read and change the settings"},
		{Name: "adminapi_info", Label: "Read account information"},
		{Name: "adminapi_admins", Label: "Manage administrators"},
		{Name: "adminapi_integrations", Label: "Manage integrations"},
	}
	if r != nil && r.Method == http.MethodPost {
		for i := range ps {
			ps[i].Checked = r.PostFormValue(ps[i].Name) == "on"
		}
	}
	return ps
}

// integrationRow is one integration of the list.
type integrationRow struct {
	mfa.Integration
	TypeLabel string
	Groups    []string // names of the groups allowed
	CanManage bool
}

// integrationForm is the create form.
type integrationForm struct {
	Name, RedirectURIs web.Field
	Type               string
	Types              []integrationType
	Permissions        []adminAPIPermission
}

// integrationsView is the integrations page's model.
type integrationsView struct {
	Integrations []integrationRow
	Create       integrationForm
}

// manageIntegrationAction is what managing an integration of typ needs
// (the service decides; this shows only the buttons that will work).
func manageIntegrationAction(typ mfa.IntegrationType) admin.Action {
	if typ == mfa.IntegrationAdminAPI {
		return admin.ManageAdminAPI
	}
	return admin.ManageIntegrations
}

// mayIntegrations: the page is for those who may manage integrations
// (Owners and Administrators); the others never see it.
func (p *Pages) mayIntegrations(r *http.Request, c req) error {
	if !p.may(r, c, admin.ManageIntegrations) {
		return mfa.E(mfa.Denied, "Your role may not manage integrations.")
	}
	return nil
}

func (p *Pages) newIntegrationForm(r *http.Request, c req, name, typ, uris string) integrationForm {
	f := integrationForm{
		Name: web.Field{Name: "name", Label: "Name", Value: name, Autocomplete: "off", Required: true,
			Hint: "Users see it in pushes and on the login page."},
		RedirectURIs: web.Field{Name: "redirect_uris", Label: "Redirect URIs (Web SDK and OpenID Connect)", Value: uris,
			Autocomplete: "off", Hint: "Where the login sends the browser back to: https URLs, separated by commas."},
		Type: typ, Permissions: adminAPIPermissions(r)}
	if f.Type == "" {
		f.Type = string(mfa.IntegrationAuthAPI)
	}
	for _, it := range integrationTypes {
		if p.may(r, c, manageIntegrationAction(it.Value)) {
			f.Types = append(f.Types, it)
		}
	}
	return f
}

// groupNames maps group ids to names.
func (p *Pages) groupNames(r *http.Request, c req) ([]mfa.Group, map[string]string, error) {
	groups, _, err := p.admin.ListGroups(r.Context(), c.Actor, mfa.Page{})
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	return groups, names, nil
}

func (p *Pages) integrationsData(r *http.Request, c req) (integrationsView, error) {
	list, _, err := p.admin.ListIntegrations(r.Context(), c.Actor, mfa.Page{})
	if err != nil {
		return integrationsView{}, err
	}
	_, names, err := p.groupNames(r, c)
	if err != nil {
		return integrationsView{}, err
	}
	v := integrationsView{Create: p.newIntegrationForm(r, c, "", "", "")}
	for _, in := range list {
		row := integrationRow{Integration: in, TypeLabel: typeLabel(in.Type), CanManage: p.may(r, c, manageIntegrationAction(in.Type))}
		for _, id := range in.GroupsAllowed {
			row.Groups = append(row.Groups, names[id])
		}
		v.Integrations = append(v.Integrations, row)
	}
	return v, nil
}

// integrations serves GET /console/integrations: the list and the create
// form.
func (p *Pages) integrations(w http.ResponseWriter, r *http.Request, c req) error {
	if err := p.mayIntegrations(r, c); err != nil {
		return err
	}
	v, err := p.integrationsData(r, c)
	if err != nil {
		return err
	}
	view := p.view(c, msgIntegrationsTitle, "/console/integrations", v)
	switch r.URL.Query().Get("done") {
	case "deleted":
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgIntegrationDeleted}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "integrations.html", view)
}

// splitList splits a comma- or newline-separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
}

// integrationSecretView is the answer to a creation: the keys, the secret
// shown this once.
type integrationSecretView struct {
	Integration mfa.Integration
	TypeLabel   string
	Secret      string
	Host        string
}

// createIntegration serves POST /console/integrations
// (admin.CreateIntegration): the answer shows the secret key once
// (no-store, never in a URL) with a copy button.
func (p *Pages) createIntegration(w http.ResponseWriter, r *http.Request, c req) error {
	if err := p.mayIntegrations(r, c); err != nil {
		return err
	}
	pf := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	v, err := p.integrationsData(r, c)
	if err != nil {
		return err
	}
	v.Create = p.newIntegrationForm(r, c, pf("name"), pf("type"), pf("redirect_uris"))
	web.Form(r, p.tmpl, "integrations.html", p.view(c, msgIntegrationsTitle, "/console/integrations", v))
	offered := false
	for _, it := range v.Create.Types {
		offered = offered || string(it.Value) == v.Create.Type
	}
	if !offered {
		return mfa.InvalidField("type", "Choose one of the types offered.")
	}
	typ, name := v.Create.Type, v.Create.Name.Value
	if name == "" {
		return mfa.InvalidField("name", "Enter a name for the integration.")
	}
	f := admin.IntegrationFields{Name: &name, Type: &typ}
	if uris := splitList(v.Create.RedirectURIs.Value); len(uris) > 0 {
		f.RedirectURIs = &uris
	}
	if typ == string(mfa.IntegrationAdminAPI) {
		on := map[string]*bool{}
		for _, ps := range v.Create.Permissions {
			b := ps.Checked
			on[ps.Name] = &b
		}
		f.Permissions = admin.PermissionFields{Admins: on["adminapi_admins"], Info: on["adminapi_info"],
			Integrations: on["adminapi_integrations"], ReadLog: on["adminapi_read_log"], ReadResource: on["adminapi_read_resource"],
			Settings: on["adminapi_settings"], WriteResource: on["adminapi_write_resource"]}
	}
	in, err := p.admin.CreateIntegration(r.Context(), c.Actor, f)
	if err != nil {
		return formMessage(err)
	}
	web.NoStore(w)
	view := p.view(c, msgIntegrationSecret, "/console/integrations",
		integrationSecretView{Integration: in, TypeLabel: typeLabel(in.Type), Secret: string(in.SKey), Host: r.Host})
	view.Script = true
	return p.tmpl.Render(w, r, http.StatusOK, "integration_secret.html", view)
}

// formMessage makes an Invalid error of the service a sentence beside its
// field ("Name: required.").
func formMessage(err error) error {
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.Invalid {
		return err
	}
	msg := strings.TrimSuffix(me.Msg, ".") + "."
	if label := fieldLabels[me.Field]; label != "" {
		msg = label + ": " + msg
	} else if strings.HasPrefix(me.Field, "adminapi_") {
		return mfa.InvalidField("permissions", "Permissions: "+msg)
	}
	return mfa.InvalidField(me.Field, msg)
}

// groupChoice is one group checkbox of the edit form.
type groupChoice struct {
	ID, Name string
	Checked  bool
}

// integrationEditView is an integration's edit page.
type integrationEditView struct {
	Integration    mfa.Integration
	TypeLabel      string
	Name, Greeting web.Field
	Groups         []groupChoice
}

// loadIntegration reads the request's {ikey} integration, for someone who
// may manage it.
func (p *Pages) loadIntegration(r *http.Request, c req) (mfa.Integration, error) {
	if err := p.mayIntegrations(r, c); err != nil {
		return mfa.Integration{}, err
	}
	in, err := p.admin.GetIntegration(r.Context(), c.Actor, r.PathValue("ikey"))
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.Integration{}, mfa.NotFoundf("no such integration")
	}
	if err != nil {
		return mfa.Integration{}, err
	}
	if !p.may(r, c, manageIntegrationAction(in.Type)) {
		return mfa.Integration{}, mfa.E(mfa.Denied, "Your role may not manage Admin API integrations.")
	}
	return in, nil
}

func (p *Pages) integrationEditData(r *http.Request, c req, in mfa.Integration, name, greeting string, groups []string) (integrationEditView, error) {
	all, _, err := p.groupNames(r, c)
	if err != nil {
		return integrationEditView{}, err
	}
	v := integrationEditView{Integration: in, TypeLabel: typeLabel(in.Type),
		Name: web.Field{Name: "name", Label: "Name", Value: name, Autocomplete: "off", Required: true},
		Greeting: web.Field{Name: "greeting", Label: "Greeting", Value: greeting, Autocomplete: "off",
			Hint: "Shown to users in pushes and phone calls of this integration (optional)."}}
	chosen := map[string]bool{}
	for _, g := range groups {
		chosen[g] = true
	}
	for _, g := range all {
		v.Groups = append(v.Groups, groupChoice{ID: g.ID, Name: g.Name, Checked: chosen[g.ID]})
	}
	return v, nil
}

func integrationPath(in mfa.Integration) string {
	return "/console/integrations/" + url.PathEscape(in.IKey)
}

// integration serves GET /console/integrations/{ikey}: the edit form.
func (p *Pages) integration(w http.ResponseWriter, r *http.Request, c req) error {
	in, err := p.loadIntegration(r, c)
	if err != nil {
		return err
	}
	v, err := p.integrationEditData(r, c, in, in.Name, in.Greeting, in.GroupsAllowed)
	if err != nil {
		return err
	}
	view := p.view(c, in.Name, "/console/integrations", v)
	if r.URL.Query().Get("done") == "saved" {
		view.Alerts = []web.Alert{{Kind: web.AlertSuccess, Text: msgIntegrationSaved}}
	}
	return p.tmpl.Render(w, r, http.StatusOK, "integration.html", view)
}

// updateIntegration serves POST /console/integrations/{ikey}: name,
// greeting and the groups allowed (admin.UpdateIntegration).
func (p *Pages) updateIntegration(w http.ResponseWriter, r *http.Request, c req) error {
	in, err := p.loadIntegration(r, c)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return mfa.InvalidField("", "The form could not be read.")
	}
	name, greeting := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("greeting"))
	groups := r.PostForm["groups"]
	if groups == nil {
		groups = []string{}
	}
	v, err := p.integrationEditData(r, c, in, name, greeting, groups)
	if err != nil {
		return err
	}
	web.Form(r, p.tmpl, "integration.html", p.view(c, in.Name, "/console/integrations", v))
	if name == "" {
		return mfa.InvalidField("name", "Enter a name for the integration.")
	}
	if _, err := p.admin.UpdateIntegration(r.Context(), c.Actor, in.IKey, admin.IntegrationFields{Name: &name, Greeting: &greeting,
		GroupsAllowed: &groups}); err != nil {
		if errors.Is(err, mfa.ErrNotFound) {
			return mfa.NotFoundf("no such integration")
		}
		var me *mfa.Error
		if errors.As(err, &me) && me.Kind == mfa.Invalid && me.Field == "groups_allowed" {
			return mfa.InvalidField("groups", "Groups: "+me.Msg+".")
		}
		return formMessage(err)
	}
	return web.Redirect(w, r, integrationPath(in)+"?done=saved")
}

// deleteIntegrationForm serves GET /console/integrations/{ikey}/delete.
func (p *Pages) deleteIntegrationForm(w http.ResponseWriter, r *http.Request, c req) error {
	in, err := p.loadIntegration(r, c)
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "integration_delete.html", p.view(c, msgDeleteIntegration, "/console/integrations",
		integrationEditView{Integration: in, TypeLabel: typeLabel(in.Type)}))
}

// deleteIntegration serves POST /console/integrations/{ikey}/delete.
func (p *Pages) deleteIntegration(w http.ResponseWriter, r *http.Request, c req) error {
	in, err := p.loadIntegration(r, c)
	if err != nil {
		return err
	}
	if err := p.admin.DeleteIntegration(r.Context(), c.Actor, in.IKey); err != nil {
		if errors.Is(err, mfa.ErrNotFound) {
			return mfa.NotFoundf("no such integration")
		}
		return err
	}
	return web.Redirect(w, r, "/console/integrations?done=deleted")
}
