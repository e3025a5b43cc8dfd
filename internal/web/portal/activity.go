package portal

import (
	"net/http"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// ActivityLimit is how many recent logins the activity page lists.
const ActivityLimit = 25

// activityRow is one row of the activity list.
type activityRow struct {
	TxID, Time, When, App, Method, Result, ResultKind, Where string
	Reportable                                               bool
}

// factorWords names the auth log's factors for people.
var factorWords = map[string]string{
	"duo_push": "Push", "passcode": "Passcode", "sms_passcode": "Text message passcode", "phone_call": "Phone call",
	"bypass_code": "Bypass code", "hardware_token": "Hardware token", "remembered_device": "Remembered device",
	"first_factor": "Password", "not_available": "None", "trusted_network": "Trusted network", "duo_mobile_passcode": "App passcode",
	"yubikey_code": "YubiKey", "sms_refresh": "New text message passcodes", "verified_duo_push": "Verified Push",
}

var resultWords = map[mfa.AuthResult][2]string{
	mfa.ResultSuccess: {"Allowed", "active"},
	mfa.ResultDenied:  {"Denied", "locked"},
	mfa.ResultFailure: {"Failed", "locked"},
	mfa.ResultFraud:   {"Reported as fraud", "locked"},
	mfa.ResultError:   {"Error", "pending"},
}

func (p *Pages) activity(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		logs, err := p.admin.SelfAuthLog(r.Context(), me.actor, ActivityLimit)
		if err != nil {
			return err
		}
		rows := make([]activityRow, 0, len(logs))
		for _, e := range logs {
			rows = append(rows, p.loginRow(e))
		}
		return p.tmpl.Render(w, r, http.StatusOK, "activity.html", p.view(me, "/portal/activity", msgActivityTitle, rows))
	})
}

func (p *Pages) loginRow(e mfa.AuthLogEntry) activityRow {
	v := activityRow{TxID: e.TxID, Time: e.Time.UTC().Format("2006-01-02T15:04:05Z"), When: e.Time.UTC().Format("2 Jan 2006 15:04 UTC"),
		App: e.IntegrationName, Where: e.IP, Reportable: e.Result != mfa.ResultFraud}
	if v.App == "" {
		v.App = e.IKey
	}
	if v.Method = factorWords[e.Factor]; v.Method == "" {
		v.Method = strings.ReplaceAll(e.Factor, "_", " ")
	}
	if e.DeviceName != "" {
		v.Method += " (" + e.DeviceName + ")"
	}
	rw, ok := resultWords[e.Result]
	if !ok {
		rw = [2]string{string(e.Result), "pending"}
	}
	v.Result, v.ResultKind = rw[0], rw[1]
	if v.Where == "" {
		v.Where = "unknown"
	}
	return v
}

func (p *Pages) findLogin(r *http.Request, me *who) (mfa.AuthLogEntry, error) {
	logs, err := p.admin.SelfAuthLog(r.Context(), me.actor, ActivityLimit)
	if err != nil {
		return mfa.AuthLogEntry{}, err
	}
	for _, e := range logs {
		if e.TxID == r.PathValue("txid") && e.TxID != "" {
			return e, nil
		}
	}
	return mfa.AuthLogEntry{}, mfa.E(mfa.NotFound, "That login is not in your recent activity.")
}

func (p *Pages) reportForm(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		e, err := p.findLogin(r, me)
		if err != nil {
			return err
		}
		return p.tmpl.Render(w, r, http.StatusOK, "report.html", p.view(me, "/portal/activity", msgReportTitle, p.loginRow(e)))
	})
}

// report serves POST /portal/activity/{txid}/report: "I didn't do this".
func (p *Pages) report(w http.ResponseWriter, r *http.Request) error {
	return p.page(w, r, func(me *who) error {
		e, err := p.findLogin(r, me)
		if err != nil {
			return err
		}
		if err := p.flow.ReportLogin(r.Context(), me.user.ID, e.TxID, clientIP(r)); err != nil {
			return err
		}
		p.notice(me.sess, web.AlertSuccess, msgReported)
		return web.Redirect(w, r, "/portal/activity")
	})
}
