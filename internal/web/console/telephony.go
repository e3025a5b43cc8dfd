package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// telephonyRow is one telephony log record with its user's name.
type telephonyRow struct {
	mfa.TelephonyLogEntry
	Username string // "" when the user is gone
}

// telephonyView is the telephony log page's model.
type telephonyView struct {
	Rows    []telephonyRow
	Next    string // the next (older) page, "" on the last
	Newest  string // the first page, when this is not it
	Credits int    // of the records on this page
	Paged   bool
}

// telephonyLog serves GET /console/logs/telephony (roles that read logs):
// the SMS and calls twostep sent, newest first, logRows a page; ?before=
// is the id the page continues after (older records).
func (p *Pages) telephonyLog(w http.ResponseWriter, r *http.Request, c req) error {
	f := mfa.LogFilter{Descending: true, Limit: logRows + 1}
	if b := r.URL.Query().Get("before"); b != "" {
		id, err := strconv.ParseInt(b, 10, 64)
		if err != nil || id <= 0 {
			return mfa.E(mfa.Invalid, "The page of the telephony log is not valid.")
		}
		f.AfterID = id
	}
	entries, err := p.admin.TelephonyLog(r.Context(), c.Actor, f)
	if err != nil {
		return err
	}
	v := telephonyView{Paged: f.AfterID != 0}
	if len(entries) > logRows {
		entries = entries[:logRows]
		v.Next = "/console/logs/telephony?before=" + strconv.FormatInt(entries[logRows-1].ID, 10)
	}
	if v.Paged {
		v.Newest = "/console/logs/telephony"
	}
	names := map[string]string{}
	for _, e := range entries {
		if _, ok := names[e.UserID]; !ok && e.UserID != "" {
			u, err := p.admin.GetUser(r.Context(), c.Actor, e.UserID)
			switch {
			case err == nil:
				names[e.UserID] = u.Username
			case errors.Is(err, mfa.ErrNotFound) || mfa.KindOf(err) == mfa.NotFound:
				names[e.UserID] = ""
			default:
				return err
			}
		}
		v.Rows = append(v.Rows, telephonyRow{TelephonyLogEntry: e, Username: names[e.UserID]})
		v.Credits += e.Credits
	}
	return p.tmpl.Render(w, r, http.StatusOK, "telephonylog.html", p.view(c, msgTelephonyLogTitle, "/console/logs/telephony", v))
}
