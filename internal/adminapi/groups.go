package adminapi

import (
	"net/http"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Groups: Duo's /admin/v1/groups (list, create, get, modify, delete),
// /admin/v2/groups/{id} and its /users, and a user's groups under
// /admin/v1/users/{id}/groups. Lists take limit (default 100, at most 500)
// and offset.

func (h *Handler) groupRoutes() []route {
	return []route{
		{"GET /admin/v1/groups", h.listGroups},
		{"POST /admin/v1/groups", h.createGroup},
		{"GET /admin/v1/groups/{group_id}", h.getGroupV1},
		{"POST /admin/v1/groups/{group_id}", h.modifyGroup},
		{"DELETE /admin/v1/groups/{group_id}", h.deleteGroup},
		{"GET /admin/v2/groups/{group_id}", h.getGroup},
		{"GET /admin/v2/groups/{group_id}/users", h.listGroupUsers},
		{"GET /admin/v1/users/{user_id}/groups", h.listUserGroups},
		{"POST /admin/v1/users/{user_id}/groups", h.addUserGroup},
		{"DELETE /admin/v1/users/{user_id}/groups/{group_id}", h.removeUserGroup},
	}
}

// groupObject is Duo's group. The *_enabled flags are Duo's deprecated
// per-group factor restrictions: twostep restricts no factor per group,
// so they are always true.
type groupObject struct {
	GroupID          string `json:"group_id"`
	Name             string `json:"name"`
	Desc             string `json:"desc"`
	Status           string `json:"status"`
	PushEnabled      bool   `json:"push_enabled"`
	SMSEnabled       bool   `json:"sms_enabled"`
	VoiceEnabled     bool   `json:"voice_enabled"`
	MobileOTPEnabled bool   `json:"mobile_otp_enabled"`
}

func newGroupObject(g mfa.Group) groupObject {
	return groupObject{GroupID: g.ID, Name: g.Name, Desc: g.Desc, Status: string(g.Status),
		PushEnabled: true, SMSEnabled: true, VoiceEnabled: true, MobileOTPEnabled: true}
}

func newGroupObjects(gs []mfa.Group) []groupObject {
	out := make([]groupObject, 0, len(gs))
	for _, g := range gs {
		out = append(out, newGroupObject(g))
	}
	return out
}

// groupFields reads a create or modify request. The deprecated factor
// restrictions are accepted when they restrict nothing ("1") and refused
// otherwise: silently ignoring "0" would let a factor the caller meant to
// forbid keep working.
func groupFields(c *api.Caller) (admin.GroupFields, error) {
	f := admin.GroupFields{Name: optString(c, "name"), Desc: optString(c, "desc"), Status: optString(c, "status")}
	for _, name := range []string{"push_enabled", "sms_enabled", "voice_enabled", "mobile_otp_enabled", "u2f_enabled"} {
		on, err := optBool(c, name)
		if err != nil {
			return f, err
		}
		if on != nil && !*on {
			return f, badParam(name, "twostep does not restrict factors per group; only 1 (true) is accepted")
		}
	}
	return f, nil
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	gs, total, err := h.svc.ListGroups(r.Context(), actor(c), p)
	if err != nil {
		return err
	}
	out := newGroupObjects(gs)
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := groupFields(c)
	if err != nil {
		return err
	}
	g, err := h.svc.CreateGroup(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newGroupObject(g))
	return nil
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	g, err := h.svc.GetGroup(r.Context(), actor(c), r.PathValue("group_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newGroupObject(g))
	return nil
}

// groupV1 is the deprecated v1 group: the v2 object plus every member.
type groupV1 struct {
	groupObject
	Users []groupMember `json:"users"`
}

// getGroupV1 answers GET /admin/v1/groups/{id} as Duo's deprecated v1
// does: the group with its whole member list (read in pages of
// maxListLimit; v2 and /admin/v2/groups/{id}/users page it instead).
func (h *Handler) getGroupV1(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	id := r.PathValue("group_id")
	g, err := h.svc.GetGroup(r.Context(), actor(c), id)
	if err != nil {
		return err
	}
	out := groupV1{groupObject: newGroupObject(g), Users: []groupMember{}}
	for p := (mfa.Page{Limit: maxListLimit}); ; p.Offset += maxListLimit {
		us, total, err := h.svc.GroupMembers(r.Context(), actor(c), id, p)
		if err != nil {
			return err
		}
		for _, u := range us {
			out.Users = append(out.Users, groupMember{UserID: u.ID, Username: u.Username})
		}
		if len(us) == 0 || p.Offset+len(us) >= total {
			break
		}
	}
	duoproto.WriteOK(w, out)
	return nil
}

func (h *Handler) modifyGroup(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	f, err := groupFields(c)
	if err != nil {
		return err
	}
	g, err := h.svc.UpdateGroup(r.Context(), actor(c), r.PathValue("group_id"), f)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newGroupObject(g))
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return deleted(w, h.svc.DeleteGroup(r.Context(), actor(c), r.PathValue("group_id")))
}

// groupMember is Duo's short user object in a group's member list.
type groupMember struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

func (h *Handler) listGroupUsers(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	us, total, err := h.svc.GroupMembers(r.Context(), actor(c), r.PathValue("group_id"), p)
	if err != nil {
		return err
	}
	out := make([]groupMember, 0, len(us))
	for _, u := range us {
		out = append(out, groupMember{UserID: u.ID, Username: u.Username})
	}
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func (h *Handler) listUserGroups(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	p, err := page(c, maxListLimit)
	if err != nil {
		return err
	}
	gs, err := h.svc.UserGroups(r.Context(), actor(c), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	total := len(gs)
	out := newGroupObjects(pageOf(gs, p))
	duoproto.WriteOKMeta(w, out, pageMetadata(p, len(out), total))
	return nil
}

func (h *Handler) addUserGroup(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	groupID, err := required(c, "group_id")
	if err != nil {
		return err
	}
	return empty(w, h.svc.AddUserToGroup(r.Context(), actor(c), r.PathValue("user_id"), groupID))
}

func (h *Handler) removeUserGroup(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return empty(w, h.svc.RemoveUserFromGroup(r.Context(), actor(c), r.PathValue("user_id"), r.PathValue("group_id")))
}
