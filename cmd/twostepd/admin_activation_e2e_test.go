package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// TestAdminActivationDuoClientPython: duo_client_python's activate_admin
// invites an administrator through a real twostepd; the invitee opens the
// link, chooses a name and a password, and becomes a Help Desk
// administrator; the link then works no more.
func TestAdminActivationDuoClientPython(t *testing.T) {
	py := needDuoClientPython(t)
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/duo_client_admin_activation.py",
		creds.AdminAPI.IKey, creds.AdminAPI.SKey, creds.APIHost, creds.CAFile, "helen@example.com").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("duo_client script: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}
	var got struct {
		Created struct {
			ID        string `json:"admin_activation_id"`
			Role      string `json:"admin_role"`
			Code      string `json:"code"`
			Email     string `json:"email"`
			EmailSent bool   `json:"email_sent"`
			Expires   int64  `json:"expires"`
			Link      string `json:"link"`
			Message   string `json:"message"`
			ValidDays int    `json:"valid_days"`
		} `json:"created"`
		Pending []struct {
			ID    string `json:"admin_activation_id"`
			Email string `json:"email"`
			Code  string `json:"code"`
		} `json:"pending"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("script output %s: %v", out, err)
	}
	c := got.Created
	if c.Role != "Help Desk" || c.Email != "helen@example.com" || c.EmailSent || c.ValidDays != 3 ||
		c.Link != "https://"+creds.APIHost+"/console/activate/"+c.Code || !strings.Contains(c.Message, c.Link) {
		t.Errorf("activate_admin = %+v", c)
	}
	if d := time.Until(time.Unix(c.Expires, 0)); d < 71*time.Hour || d > 72*time.Hour {
		t.Errorf("expires in %v, want 3 days", d)
	}
	if len(got.Pending) != 1 || got.Pending[0].ID != c.ID || got.Pending[0].Code != "" {
		t.Errorf("pending activations = %+v, want the one link, without its code", got.Pending)
	}

	hc := httpsClient(trustCA(t, creds.CAFile))
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	page := func(resp *http.Response, err error) (*http.Response, *goquery.Document) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, doc
	}
	resp, doc := page(hc.Get(c.Link))
	if resp.StatusCode != 200 || !strings.Contains(doc.Find("main").Text(), "helen@example.com") ||
		doc.Find(`input[name=password][type=password][autocomplete=new-password]`).Length() != 1 {
		t.Fatalf("activation page = %d:\n%s", resp.StatusCode, doc.Text())
	}
	cookies := resp.Cookies()
	post := func(form url.Values) (*http.Response, *goquery.Document) {
		t.Helper()
		form.Set("csrf_token", doc.Find(`input[name=csrf_token]`).AttrOr("value", ""))
		req, _ := http.NewRequest("POST", c.Link, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://"+creds.APIHost)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		return page(hc.Do(req))
	}
	// Mismatched and short passwords: form errors, nothing created.
	if resp, d := post(url.Values{"name": {"Helen"}, "password": {"a long enough password"}, "password2": {"another one"}}); resp.StatusCode != 400 ||
		!strings.Contains(d.Text(), "The two passwords are not the same.") {
		t.Errorf("mismatched passwords = %d:\n%s", resp.StatusCode, d.Text())
	}
	if resp, d := post(url.Values{"name": {"Helen"}, "password": {"short"}, "password2": {"short"}}); resp.StatusCode != 400 ||
		!strings.Contains(d.Text(), "shorter than 12 characters") {
		t.Errorf("short password = %d:\n%s", resp.StatusCode, d.Text())
	}
	const pw = "a long and private passphrase"
	resp, d := post(url.Values{"name": {"Helen Helper"}, "password": {pw}, "password2": {pw}})
	if resp.StatusCode != 200 || !strings.Contains(d.Find("h1").Text(), "Your administrator account is ready") {
		t.Fatalf("activation = %d:\n%s", resp.StatusCode, d.Text())
	}
	a := adminE2E{t, in}
	list := a.ok("admin", "list")
	if !strings.Contains(list, "helen@example.com") || !strings.Contains(list, "Help Desk") {
		t.Errorf("admins list lacks the new Help Desk administrator:\n%s", list)
	}
	// The link is spent.
	if resp, d := page(hc.Get(c.Link)); resp.StatusCode != 404 || !strings.Contains(d.Text(), "does not work") {
		t.Errorf("the link again = %d:\n%s", resp.StatusCode, d.Text())
	}
}
