package console

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// view is a signed-in page's view: the wide layout, the navigation the
// administrator's role may use (pages they may not use are not listed,
// and their services refuse them anyway), and who is signed in.
func (p *Pages) view(c req, title, current string, data any) web.View {
	logs := admin.Allowed(c.Actor, admin.ReadLogs, mfa.Settings{})
	items := []struct {
		label, url string
		show       bool
	}{
		{msgDashboardTitle, "/console/", true},
		{msgUsersTitle, "/console/users", true},
		{msgTokensTitle, "/console/tokens", true},
		{msgAuthLogTitle, "/console/logs/auth", logs},
		{msgAdminLogTitle, "/console/logs/admin", logs},
		{msgTelephonyLogTitle, "/console/logs/telephony", logs},
		{msgAdminsTitle, "/console/admins", c.Admin.Role == mfa.RoleOwner},
		{msgIntegrationsTitle, "/console/integrations", admin.Allowed(c.Actor, admin.ManageIntegrations, mfa.Settings{})},
		{msgOutboxTitle, "/console/outbox", p.outbox != nil && outboxRole(c)},
		{msgSettingsTitle, "/console/settings", c.Admin.Role == mfa.RoleOwner},
		{msgAccountKeysTitle, AccountKeysPath, p.flow.KeysEnabled()},
	}
	var nav []web.NavItem
	for _, it := range items {
		if it.show {
			nav = append(nav, web.NavItem{Label: it.label, URL: it.url, Current: it.url == current})
		}
	}
	return web.View{Title: title, Layout: web.LayoutWide, Nav: nav, User: c.Admin.Email, Data: data}
}

// may reports whether the signed-in administrator may do act (to show or
// hide its button; the service decides).
func (p *Pages) may(r *http.Request, c req, act admin.Action) bool {
	return p.admin.May(r.Context(), c.Actor, act)
}
