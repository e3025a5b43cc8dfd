package console

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// logRows is how many authentication log records a page shows; the CSV
// export takes up to admin.MaxAuthLogLimit.
const logRows = 100

// timeLayout is the datetime-local form of the time filters (UTC).
const timeLayout = "2006-01-02T15:04"

// authLogView is the authentication log page's model.
type authLogView struct {
	User, App, Factor, Result, From, To string
	Factors, Results                    []string
	Entries                             []mfa.AuthLogEntry
	Total                               int
	CSV                                 string // the export link with the same filters
}

// logFactors and logResults are the filters' choices (Duo's log words).
var (
	logFactors = []string{"duo_push", "passcode", "hardware_token", "bypass_code", "sms_passcode", "phone_call",
		"remembered_device", "first_factor"}
	logResults = []string{string(mfa.ResultSuccess), string(mfa.ResultFailure), string(mfa.ResultDenied), string(mfa.ResultFraud),
		string(mfa.ResultError)}
)

// authLogFilter reads the filters of an authentication log request:
// user (a username or alias), app (an integration key or name), factor,
// result, from and to (UTC, default the last 24 hours).
func (p *Pages) authLogFilter(r *http.Request, c req, limit int) (mfa.AuthLogFilter, authLogView, bool, error) {
	q := r.URL.Query()
	v := authLogView{User: trim(q.Get("user")), App: trim(q.Get("app")), Factor: q.Get("factor"), Result: q.Get("result"),
		From: q.Get("from"), To: q.Get("to"), Factors: logFactors, Results: logResults}
	now := p.now().UTC()
	f := mfa.AuthLogFilter{MinTime: now.Add(-24 * time.Hour), MaxTime: now, Limit: limit, Descending: true}
	var err error
	if v.From != "" {
		if f.MinTime, err = time.Parse(timeLayout, v.From); err != nil {
			return f, v, false, mfa.InvalidField("from", "Enter the start as a date and time.")
		}
	}
	if v.To != "" {
		if f.MaxTime, err = time.Parse(timeLayout, v.To); err != nil {
			return f, v, false, mfa.InvalidField("to", "Enter the end as a date and time.")
		}
		f.MaxTime = f.MaxTime.Add(time.Minute - time.Nanosecond) // the whole minute
	}
	if f.MaxTime.Before(f.MinTime) {
		return f, v, false, mfa.InvalidField("to", "The end is before the start.")
	}
	if v.Factor != "" {
		f.Factors = []string{v.Factor}
	}
	if v.Result != "" {
		f.Results = []mfa.AuthResult{mfa.AuthResult(v.Result)}
	}
	if v.User != "" {
		users, _, err := p.admin.ListUsers(r.Context(), c.Actor, mfa.UserFilter{Username: v.User, Page: mfa.Page{Limit: 1}})
		if err != nil {
			return f, v, false, err
		}
		if len(users) == 0 {
			return f, v, false, nil // nobody: no records
		}
		f.UserIDs = []string{users[0].ID}
	}
	if v.App != "" {
		f.IKeys = []string{v.App}
		if p.may(r, c, admin.ReadIntegrations) {
			ins, _, err := p.admin.ListIntegrations(r.Context(), c.Actor, mfa.Page{})
			if err != nil {
				return f, v, false, err
			}
			for _, in := range ins {
				if strings.EqualFold(in.Name, v.App) {
					f.IKeys = append(f.IKeys, in.IKey)
				}
			}
		}
	}
	return f, v, true, nil
}

func trim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}

// authLog serves GET /console/logs/auth: the latest records matching the
// filters, newest first.
func (p *Pages) authLog(w http.ResponseWriter, r *http.Request, c req) error {
	f, v, any, err := p.authLogFilter(r, c, logRows)
	web.Form(r, p.tmpl, "authlog.html", p.view(c, msgAuthLogTitle, "/console/logs/auth", v))
	if err != nil {
		return err
	}
	if any {
		if v.Entries, v.Total, err = p.admin.AuthLog(r.Context(), c.Actor, f); err != nil {
			return err
		}
	}
	vals := url.Values{"user": {v.User}, "app": {v.App}, "factor": {v.Factor}, "result": {v.Result}, "from": {v.From}, "to": {v.To}}
	v.CSV = "/console/logs/auth.csv?" + vals.Encode()
	return p.tmpl.Render(w, r, http.StatusOK, "authlog.html", p.view(c, msgAuthLogTitle, "/console/logs/auth", v))
}

// authLogCSV serves GET /console/logs/auth.csv: the same records (up to
// admin.MaxAuthLogLimit) as CSV, a header row first.
func (p *Pages) authLogCSV(w http.ResponseWriter, r *http.Request, c req) error {
	f, _, any, err := p.authLogFilter(r, c, admin.MaxAuthLogLimit)
	if err != nil {
		return err
	}
	var entries []mfa.AuthLogEntry
	if any {
		if entries, _, err = p.admin.AuthLog(r.Context(), c.Actor, f); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="authentication-log.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"time", "txid", "event_type", "user_id", "username", "integration", "application", "factor", "result",
		"reason", "ip", "device"})
	for _, e := range entries {
		cw.Write([]string{e.Time.UTC().Format(time.RFC3339), e.TxID, e.EventType, e.UserID, csvSafe(e.Username), e.IKey,
			csvSafe(e.IntegrationName), e.Factor, string(e.Result), e.Reason, e.IP, csvSafe(e.DeviceName)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a value as a formula (CSV
// injection): a leading =, +, - or @ gets a quote in front.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// adminLog serves GET /console/logs/admin: the latest administrator log
// records, newest first.
func (p *Pages) adminLog(w http.ResponseWriter, r *http.Request, c req) error {
	entries, err := p.admin.AdminLog(r.Context(), c.Actor, mfa.LogFilter{Descending: true, Limit: logRows})
	if err != nil {
		return err
	}
	return p.tmpl.Render(w, r, http.StatusOK, "adminlog.html", p.view(c, msgAdminLogTitle, "/console/logs/admin", entries))
}
