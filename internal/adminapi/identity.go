package adminapi

import (
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Identity answers for self-service bypass codes (twostep extension):
// set, clear and import them; reading shows only whether each is set.

func (h *Handler) identityRoutes() []route {
	return []route{
		{"GET /admin/v1/users/{user_id}/identity", h.getIdentity},
		{"POST /admin/v1/users/{user_id}/identity", h.setIdentity},
		{"POST /admin/v1/users/identity_import", h.importIdentity},
	}
}

// identityObject says which answers a user has: "set" or "not set".
type identityObject struct {
	PIN   string `json:"pin"`
	DOBID string `json:"dob_id"`
}

func setWord(b bool) string {
	if b {
		return "set"
	}
	return "not set"
}

func newIdentityObject(st mfa.IdentityStatus) identityObject {
	return identityObject{PIN: setWord(st.Has(mfa.IdentityPIN)), DOBID: setWord(st.Has(mfa.IdentityDOBID))}
}

func (h *Handler) getIdentity(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	st, err := h.svc.UserIdentity(r.Context(), actor(c), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newIdentityObject(st))
	return nil
}

// setIdentity changes what is given: pin (empty clears it), and dob with
// id_last4 (both empty clear them); at least one of pin, dob, id_last4.
func (h *Handler) setIdentity(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	pin := optString(c, admin.FieldPIN)
	dob, last4 := optString(c, admin.FieldDOB), optString(c, admin.FieldIDLast4)
	if pin == nil && dob == nil && last4 == nil {
		return duoproto.BadParam("give pin, or dob and id_last4 (empty values clear them)")
	}
	if (dob == nil) != (last4 == nil) {
		return duoproto.BadParam("dob and id_last4 go together: give both (or both empty to clear)")
	}
	id := r.PathValue("user_id")
	if pin != nil {
		if err := h.svc.SetUserPIN(r.Context(), actor(c), id, strings.TrimSpace(*pin)); err != nil {
			return err
		}
	}
	if dob != nil {
		if err := h.svc.SetUserDOBID(r.Context(), actor(c), id, *dob, *last4); err != nil {
			return err
		}
	}
	st, err := h.svc.UserIdentity(r.Context(), actor(c), id)
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, newIdentityObject(st))
	return nil
}

// importRow is one CSV row's outcome.
type importRow struct {
	Line     int    `json:"line"`
	Username string `json:"username"`
	Result   string `json:"result"` // "set" or "error"
	Message  string `json:"message"`
}

type importReport struct {
	Imported int         `json:"imported"`
	Failed   int         `json:"failed"`
	Rows     []importRow `json:"rows"`
}

// importIdentity takes csv (lines username,dob,id_last4) and answers
// with a report per row.
func (h *Handler) importIdentity(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	data := c.Param("csv")
	if strings.TrimSpace(data) == "" {
		return duoproto.BadParam("csv: required (lines of username,dob,id_last4)")
	}
	rep, err := h.svc.ImportIdentity(r.Context(), actor(c), strings.NewReader(data))
	if err != nil {
		return err
	}
	out := importReport{Imported: rep.Imported, Failed: rep.Failed, Rows: make([]importRow, 0, len(rep.Rows))}
	for _, row := range rep.Rows {
		res := "error"
		if row.OK {
			res = "set"
		}
		out.Rows = append(out.Rows, importRow{Line: row.Line, Username: row.Username, Result: res, Message: row.Message})
	}
	duoproto.WriteOK(w, out)
	return nil
}
