package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// ActorKind says who is acting.
type ActorKind string

// Actor kinds.
const (
	ActorAdmin       ActorKind = "admin"       // a person at the console or CLI
	ActorIntegration ActorKind = "integration" // an Admin API integration
	ActorSystem      ActorKind = "system"      // twostepd itself (bootstrap, reaper)
	// ActorSelfService is a user acting on their own account at the
	// self-service pages (SelfServiceActor). It may do none of the
	// Actions: only the self-service methods accept it, for that user.
	ActorSelfService ActorKind = "self-service"
	// ActorUser is a user at the self-service portal: it may do only the
	// self-service actions (selfservice.go), and only on its own user;
	// every other action refuses it.
	ActorUser ActorKind = "user"
)

// Actor is who asks for an administrative operation. Every service method
// takes one and authorizes it first, so the console, the Admin API and the
// CLI enforce the same rules.
type Actor struct {
	Kind  ActorKind
	ID    string // administrator id or ikey
	Name  string // administrator email or integration name: shown as creator and in the admin log
	Role  mfa.Role
	Perms mfa.AdminPermissions
	// IP is the source address of the request, recorded in the admin log
	// (as "source_ip" in the description); "" when there is none (CLI).
	IP string
}

// AdminActor is the actor for an administrator.
func AdminActor(a mfa.Admin) Actor {
	return Actor{Kind: ActorAdmin, ID: a.ID, Name: a.Email, Role: a.Role}
}

// IntegrationActor is the actor for an Admin API integration.
func IntegrationActor(in mfa.Integration) Actor {
	return Actor{Kind: ActorIntegration, ID: in.IKey, Name: in.Name, Perms: in.Permissions}
}

// SelfServiceActor is user u at the self-service pages, from address ip
// (recorded in the admin log).
func SelfServiceActor(u mfa.User, ip string) Actor {
	return Actor{Kind: ActorSelfService, ID: u.ID, Name: u.Username, IP: ip}
}

// SystemActor is twostepd itself.
func SystemActor() Actor { return Actor{Kind: ActorSystem, Name: "twostep"} }

// Action is one kind of administrative operation.
type Action string

// Actions, each checked against the actor's role or permissions.
const (
	ReadResources      Action = "read users, phones, tokens and bypass code metadata"
	CreateUsers        Action = "create users"
	UpdateUsers        Action = "update users"
	DeleteUsers        Action = "delete users"
	WriteDevices       Action = "create, update and associate phones and tokens"
	DeleteDevices      Action = "delete phones and tokens"
	ImportTokens       Action = "import hardware tokens"
	SendActivations    Action = "send activations"
	CreateBypassCodes  Action = "create bypass codes"
	DeleteBypassCodes  Action = "delete bypass codes"
	ReadLogs           Action = "read logs"
	ReadSettings       Action = "read settings"
	WriteSettings      Action = "change settings"
	ReadAdmins         Action = "read administrators"
	ManageAdmins       Action = "manage administrators"
	ReadIntegrations   Action = "read integrations"
	ManageIntegrations Action = "manage Auth API integrations"
	ManageAdminAPI     Action = "manage Admin API integrations"
	ManageGroups       Action = "create, change and delete groups and their members"
	ReadInfo           Action = "read account information (summary, telephony credits, authentication counts)"
)

// AllActions lists every action, for tests and documentation.
func AllActions() []Action {
	return []Action{ReadResources, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices,
		ImportTokens, SendActivations, CreateBypassCodes, DeleteBypassCodes, ReadLogs, ReadSettings,
		WriteSettings, ReadAdmins, ManageAdmins, ReadIntegrations, ManageIntegrations, ManageAdminAPI, ManageGroups, ReadInfo}
}

// roleActions is what each role may do (Duo's admin roles: only Owners
// manage administrators and Admin API integrations; Help Desk views and
// updates users, devices and bypass codes but never creates or deletes
// users; Read-only only reads). Groups (whose bypass status lets members
// skip 2FA) are managed by those who may create users and set their
// status: Owners, Administrators and User Managers. Creating bypass codes as Help Desk also
// needs the HelpDeskCanSendBypass setting, checked in allowed.
var roleActions = map[mfa.Role][]Action{
	mfa.RoleOwner: AllActions(),
	mfa.RoleAdministrator: {ReadResources, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices,
		ImportTokens, SendActivations, CreateBypassCodes, DeleteBypassCodes, ReadLogs, ReadSettings, WriteSettings,
		ReadAdmins, ReadIntegrations, ManageIntegrations, ManageGroups, ReadInfo},
	mfa.RoleUserManager: {ReadResources, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices,
		ImportTokens, SendActivations, CreateBypassCodes, DeleteBypassCodes, ManageGroups},
	mfa.RoleHelpDesk: {ReadResources, UpdateUsers, WriteDevices, ImportTokens, SendActivations,
		CreateBypassCodes, DeleteBypassCodes, ReadLogs},
	mfa.RoleReadOnly: {ReadResources, ReadLogs, ReadSettings, ReadAdmins, ReadIntegrations, ReadInfo},
}

// permActions maps Admin API integration permissions to actions.
func permActions(p mfa.AdminPermissions) []Action {
	var out []Action
	if p.ReadResource {
		out = append(out, ReadResources)
	}
	if p.WriteResource {
		out = append(out, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices, ImportTokens,
			SendActivations, CreateBypassCodes, DeleteBypassCodes, ManageGroups)
	}
	if p.ReadLog {
		out = append(out, ReadLogs)
	}
	if p.Settings {
		out = append(out, ReadSettings, WriteSettings)
	}
	if p.Admins {
		out = append(out, ReadAdmins, ManageAdmins)
	}
	if p.Integrations {
		out = append(out, ReadIntegrations, ManageIntegrations, ManageAdminAPI)
	}
	if p.Info {
		out = append(out, ReadInfo)
	}
	return out
}

// Allowed reports whether actor may perform act, given the settings (for
// the Help Desk bypass-code switch).
func Allowed(a Actor, act Action, s mfa.Settings) bool {
	var acts []Action
	switch a.Kind {
	case ActorSystem:
		return true
	case ActorAdmin:
		acts = roleActions[a.Role]
		if a.Role == mfa.RoleHelpDesk && act == CreateBypassCodes && !s.HelpDeskCanSendBypass {
			return false
		}
	case ActorIntegration:
		acts = permActions(a.Perms)
	}
	for _, x := range acts {
		if x == act {
			return true
		}
	}
	return false
}

// authorize returns Denied unless actor may perform act.
func (s *Service) authorize(ctx context.Context, a Actor, act Action) error {
	var settings mfa.Settings
	if a.Kind == ActorAdmin && a.Role == mfa.RoleHelpDesk && act == CreateBypassCodes {
		var err error
		if settings, err = s.store.GetSettings(ctx); err != nil {
			return fmt.Errorf("authorize: %w", err)
		}
	}
	if Allowed(a, act, settings) {
		return nil
	}
	who := string(a.Role)
	if a.Kind == ActorIntegration {
		who = "this integration"
	}
	if who == "" {
		who = "this actor"
	}
	return mfa.Errorf(mfa.Denied, "%s may not %s", who, act)
}

// GrantableRoles are the roles a may give an administrator (create,
// invite or change to): those whose every permission a has itself.
func GrantableRoles(a Actor) []mfa.Role {
	var out []mfa.Role
	for _, r := range []mfa.Role{mfa.RoleOwner, mfa.RoleAdministrator, mfa.RoleUserManager, mfa.RoleHelpDesk, mfa.RoleReadOnly} {
		if mayManageRole(a, r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// mayManageRole returns Denied unless a may do everything an administrator
// with role r may do: nobody creates, changes (a password included) or
// deletes an administrator more powerful than themselves. Without it an
// Admin API key holding only adminapi_admins could create an Owner, or set
// an Owner's password, and so climb to every permission; the rule for
// integrations (coversIntegration) is the same.
func mayManageRole(a Actor, r mfa.Role) error {
	all := mfa.Settings{HelpDeskCanSendBypass: true}
	var missing []string
	for _, act := range roleActions[r] {
		if !Allowed(a, act, all) {
			missing = append(missing, string(act))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	who := "this integration"
	if a.Kind == ActorAdmin {
		who = string(a.Role)
	}
	return mfa.Errorf(mfa.Denied, "%s may not manage a %s administrator, who may %s", who, r, strings.Join(missing, ", "))
}

// logChange appends an administrator log record; a failure to log fails
// the caller's request (an unlogged change must not look successful).
func (s *Service) logChange(ctx context.Context, a Actor, action, objectType, object, description string) error {
	actor := a.Name
	if a.Kind == ActorIntegration {
		actor = a.ID
	}
	if a.IP != "" {
		description = withSourceIP(description, a.IP)
	}
	_, err := s.store.AppendAdminLog(ctx, mfa.AdminLogEntry{
		Time: s.now(), Actor: actor, ActorKind: string(a.Kind), Action: action,
		ObjectType: objectType, Object: object, Description: description,
	})
	if err != nil {
		return fmt.Errorf("admin log: %w", err)
	}
	return nil
}

// permissionFlag is one Admin API permission of an integration.
type permissionFlag struct {
	name string
	on   bool
}

// permissionFlags lists p's Admin API permissions by name.
func permissionFlags(p mfa.AdminPermissions) []permissionFlag {
	return []permissionFlag{
		{"adminapi_admins", p.Admins}, {"adminapi_info", p.Info}, {"adminapi_integrations", p.Integrations},
		{"adminapi_read_log", p.ReadLog}, {"adminapi_read_resource", p.ReadResource},
		{"adminapi_settings", p.Settings}, {"adminapi_write_resource", p.WriteResource},
	}
}

// lacking lists the Admin API permissions in p that actor a does not hold:
// for an integration, the flags it lacks itself; for an administrator, the
// flags that allow an action the role does not; twostepd itself holds
// them all.
func lacking(a Actor, p mfa.AdminPermissions) []string {
	var out []string
	own := permissionFlags(a.Perms)
	for i, f := range permissionFlags(p) {
		if !f.on {
			continue
		}
		switch a.Kind {
		case ActorIntegration:
			if !own[i].on {
				out = append(out, f.name)
			}
		case ActorAdmin:
			var only mfa.AdminPermissions
			setFlag(&only, i)
			for _, act := range permActions(only) {
				if !Allowed(a, act, mfa.Settings{HelpDeskCanSendBypass: true}) {
					out = append(out, f.name)
					break
				}
			}
		}
	}
	return out
}

// setFlag turns on the i-th permission of permissionFlags' order.
func setFlag(p *mfa.AdminPermissions, i int) {
	flags := []*bool{&p.Admins, &p.Info, &p.Integrations, &p.ReadLog, &p.ReadResource, &p.Settings, &p.WriteResource}
	*flags[i] = true
}

// coversIntegration returns Denied unless actor a holds every permission
// of the Admin API integration in (any other type needs nothing more than
// the right to manage it). Whoever holds an Admin API key can do all that
// it allows, so reading its secret, changing or deleting it, and creating
// or granting one with more than the caller holds would let a key climb to
// a stronger one. doing says what was asked ("read the secret of"); would
// says that in is the integration as it would be after the change.
func coversIntegration(a Actor, in mfa.Integration, doing string, would bool) error {
	if in.Type != mfa.IntegrationAdminAPI {
		return nil
	}
	missing := lacking(a, in.Permissions)
	if len(missing) == 0 {
		return nil
	}
	who := "this integration"
	if a.Kind == ActorAdmin {
		who = "the " + string(a.Role) + " role"
	}
	holds := "it holds"
	if would {
		holds = "it would hold"
	}
	return mfa.Errorf(mfa.Denied, "%s may not %s integration %s: %s %s, which %s does not",
		who, doing, in.IKey, holds, strings.Join(missing, ", "), who)
}

// May reports whether a may do act now, by the same rule every method
// applies (authorize): pages use it to show only the buttons that will
// work. It is no substitute for the method's own check.
func (s *Service) May(ctx context.Context, a Actor, act Action) bool {
	return s.authorize(ctx, a, act) == nil
}
