package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/web"
)

// Bypass code defaults (seed 004): one code, one use, one hour.
const (
	defaultBypassCount = 1
	defaultBypassUses  = 1
	defaultBypassHours = 1
	maxBypassCount     = 10
)

// bypassView is the bypass code form's model, and after generating the
// codes shown once.
type bypassView struct {
	User               admin.UserDetail
	Count, Uses, Hours web.Field
	Codes              []string
	Expires            time.Time
	UsesLeft           int
}

func bypassFields(count, uses, hours string) (web.Field, web.Field, web.Field) {
	return web.Field{Name: "count", Label: msgBypassCount, Value: count, InputMode: "numeric", Required: true, Autofocus: true},
		web.Field{Name: "uses", Label: msgBypassUses, Hint: msgBypassUsesHint, Value: uses, InputMode: "numeric", Required: true},
		web.Field{Name: "hours", Label: msgBypassHours, Hint: msgBypassHrsHint, Value: hours, InputMode: "numeric", Required: true}
}

// bypassForm serves GET /console/users/{id}/bypass. A role the settings
// refuse bypass codes gets 403 here and never sees the button.
func (p *Pages) bypassForm(w http.ResponseWriter, r *http.Request, c req) error {
	if !p.may(r, c, admin.CreateBypassCodes) {
		return mfa.E(mfa.Denied, "Your role may not generate bypass codes.")
	}
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v := bypassView{User: u}
	v.Count, v.Uses, v.Hours = bypassFields(strconv.Itoa(defaultBypassCount), strconv.Itoa(defaultBypassUses), strconv.Itoa(defaultBypassHours))
	return p.tmpl.Render(w, r, http.StatusOK, "bypass.html", p.view(c, msgBypassTitle, "/console/users", v))
}

// number parses a whole number form field within [lo, hi].
func number(r *http.Request, name string, lo, hi int, msg string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(name)))
	if err != nil || n < lo || n > hi {
		return 0, mfa.InvalidField(name, msg)
	}
	return n, nil
}

// bypass serves POST /console/users/{id}/bypass: the codes replace the
// user's existing ones and are shown once, on this answer only (no-store,
// never in a URL), with copy and print buttons.
func (p *Pages) bypass(w http.ResponseWriter, r *http.Request, c req) error {
	u, err := p.loadUser(r, c)
	if err != nil {
		return err
	}
	v := bypassView{User: u}
	v.Count, v.Uses, v.Hours = bypassFields(r.PostFormValue("count"), r.PostFormValue("uses"), r.PostFormValue("hours"))
	web.Form(r, p.tmpl, "bypass.html", p.view(c, msgBypassTitle, "/console/users", v))
	count, err := number(r, "count", 1, maxBypassCount, "Enter a number of codes from 1 to 10.")
	if err != nil {
		return err
	}
	uses, err := number(r, "uses", 0, admin.MaxBypassReuse, "Enter the uses per code: 0 (unlimited) to "+strconv.Itoa(admin.MaxBypassReuse)+".")
	if err != nil {
		return err
	}
	hours, err := number(r, "hours", 0, 24*366, "Enter how many hours the codes are valid: 0 (never expire) to 8784 (a year).")
	if err != nil {
		return err
	}
	secs := int64(hours) * 3600
	codes, err := p.admin.CreateBypassCodes(r.Context(), c.Actor, u.ID, admin.BypassRequest{Count: &count, ReuseCount: &uses, ValidSecs: &secs})
	if err != nil {
		return err
	}
	done := bypassView{User: u, Codes: codes, UsesLeft: uses}
	if hours > 0 {
		done.Expires = p.now().Add(time.Duration(hours) * time.Hour)
	}
	web.NoStore(w)
	view := p.view(c, msgBypassDone, "/console/users", done)
	view.Script = true
	return p.tmpl.Render(w, r, http.StatusOK, "bypass_codes.html", view)
}
