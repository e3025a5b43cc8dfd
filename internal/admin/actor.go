package admin

import (
	"context"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// ActorKind says who is acting.
type ActorKind string

// Actor kinds.
const (
	ActorAdmin       ActorKind = "admin"       // a person at the console or CLI
	ActorIntegration ActorKind = "integration" // an Admin API integration
	ActorSystem      ActorKind = "system"      // twostepd itself (bootstrap, reaper)
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
}

// AdminActor is the actor for an administrator.
func AdminActor(a mfa.Admin) Actor {
	return Actor{Kind: ActorAdmin, ID: a.ID, Name: a.Email, Role: a.Role}
}

// IntegrationActor is the actor for an Admin API integration.
func IntegrationActor(in mfa.Integration) Actor {
	return Actor{Kind: ActorIntegration, ID: in.IKey, Name: in.Name, Perms: in.Permissions}
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
)

// AllActions lists every action, for tests and documentation.
func AllActions() []Action {
	return []Action{ReadResources, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices,
		ImportTokens, SendActivations, CreateBypassCodes, DeleteBypassCodes, ReadLogs, ReadSettings,
		WriteSettings, ReadAdmins, ManageAdmins, ReadIntegrations, ManageIntegrations, ManageAdminAPI}
}

// roleActions is what each role may do (Duo's admin roles: only Owners
// manage administrators and Admin API integrations; Help Desk views and
// updates users, devices and bypass codes but never creates or deletes
// users; Read-only only reads). Creating bypass codes as Help Desk also
// needs the HelpDeskCanSendBypass setting, checked in allowed.
var roleActions = map[mfa.Role][]Action{
	mfa.RoleOwner: AllActions(),
	mfa.RoleAdministrator: {ReadResources, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices,
		ImportTokens, SendActivations, CreateBypassCodes, DeleteBypassCodes, ReadLogs, ReadSettings, WriteSettings,
		ReadAdmins, ReadIntegrations, ManageIntegrations},
	mfa.RoleUserManager: {ReadResources, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices,
		ImportTokens, SendActivations, CreateBypassCodes, DeleteBypassCodes},
	mfa.RoleHelpDesk: {ReadResources, UpdateUsers, WriteDevices, ImportTokens, SendActivations,
		CreateBypassCodes, DeleteBypassCodes, ReadLogs},
	mfa.RoleReadOnly: {ReadResources, ReadLogs, ReadSettings, ReadAdmins, ReadIntegrations},
}

// permActions maps Admin API integration permissions to actions.
func permActions(p mfa.AdminPermissions) []Action {
	var out []Action
	if p.ReadResource {
		out = append(out, ReadResources)
	}
	if p.WriteResource {
		out = append(out, CreateUsers, UpdateUsers, DeleteUsers, WriteDevices, DeleteDevices, ImportTokens,
			SendActivations, CreateBypassCodes, DeleteBypassCodes)
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

// logChange appends an administrator log record; a failure to log fails
// the caller's request (an unlogged change must not look successful).
func (s *Service) logChange(ctx context.Context, a Actor, action, objectType, object, description string) error {
	actor := a.Name
	if a.Kind == ActorIntegration {
		actor = a.ID
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
