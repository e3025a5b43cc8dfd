package invite_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
	"github.com/twostep-auth/twostep/internal/web"
	"github.com/twostep-auth/twostep/internal/web/invite"
)

type fixture struct {
	t    *testing.T
	host string
	hc   *http.Client
	svc  *admin.Service
	st   mfa.Store
}

func newFixture(t *testing.T) *fixture {
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := admin.New(st, time.Now, rand.Reader, log)
	svc.SetPasswordHasher(admin.PasswordHasher{Time: 1, Memory: 8 * 1024, Threads: 1})
	site := web.New(web.Deps{Logger: log, Sessions: st})
	mux := http.NewServeMux()
	site.Register(mux)
	invite.New(site, svc).Register(mux)
	ts := certstest.StartTLS(t, mux)
	admin.WithPublicHost(ts.Host)(svc)
	jar, _ := cookiejar.New(nil)
	hc := ts.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &fixture{t: t, host: ts.Host, hc: hc, svc: svc, st: st}
}

// invite makes a link as the system and returns its code.
func (f *fixture) invite(email string) string {
	f.t.Helper()
	l, err := f.svc.CreateAdminActivation(f.t.Context(), admin.SystemActor(), admin.AdminActivationRequest{Email: email})
	if err != nil {
		f.t.Fatal(err)
	}
	return string(l.Code)
}

func (f *fixture) get(path string) (int, *goquery.Document) {
	f.t.Helper()
	resp, err := f.hc.Get("https://" + f.host + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp.StatusCode, doc
}

func (f *fixture) post(path string, form url.Values, sameOrigin bool) (int, *goquery.Document) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", "https://"+f.host+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sameOrigin {
		req.Header.Set("Origin", "https://"+f.host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(resp.Body)
	return resp.StatusCode, doc
}

// TestInvitePage: the page shows the invitation; bad codes, CSRF,
// cross-origin and oversized posts are refused with nothing created; the
// right form creates the administrator once.
func TestInvitePage(t *testing.T) {
	f := newFixture(t)
	code := f.invite("iris@example.com")
	path := admin.AdminActivationPath + code
	status, doc := f.get(path)
	if status != 200 || !strings.Contains(doc.Find("main").Text(), "iris@example.com") ||
		!strings.Contains(doc.Find("main").Text(), "Read-only") || doc.Find(`form[method=post] input[name=csrf_token]`).Length() != 1 ||
		doc.Find(`input#f-name[autocomplete=name]`).Length() != 1 || doc.Find(`input#f-password2[type=password]`).Length() != 1 {
		t.Fatalf("invitation page = %d:\n%s", status, doc.Text())
	}
	csrf := doc.Find(`input[name=csrf_token]`).AttrOr("value", "")
	good := url.Values{"csrf_token": {csrf}, "name": {"Iris"}, "password": {"iris's long passphrase"}, "password2": {"iris's long passphrase"}}

	for _, bad := range []string{"x", strings.Repeat("A", 20) + "B", "!!!!!!!!!!!!!!!!!!!!", strings.Repeat("A", 20)} {
		if status, doc := f.get(admin.AdminActivationPath + url.PathEscape(bad)); status != 404 || !strings.Contains(doc.Find("h1").Text(), "does not work") {
			t.Errorf("GET code %q = %d %q, want 404", bad, status, doc.Find("h1").Text())
		}
	}
	noToken := url.Values{"name": good["name"], "password": good["password"], "password2": good["password2"]}
	if status, _ := f.post(path, noToken, true); status != 403 {
		t.Errorf("POST without CSRF token = %d, want 403", status)
	}
	if status, _ := f.post(path, good, false); status != 403 {
		t.Errorf("cross-origin POST = %d, want 403", status)
	}
	huge := url.Values{"csrf_token": {csrf}, "name": {strings.Repeat("n", 10<<10)}, "password": good["password"], "password2": good["password2"]}
	if status, _ := f.post(path, huge, true); status != 413 {
		t.Errorf("oversized POST = %d, want 413", status)
	}
	noName := url.Values{"csrf_token": {csrf}, "name": {"  "}, "password": good["password"], "password2": good["password2"]}
	if status, doc := f.post(path, noName, true); status != 400 || !strings.Contains(doc.Text(), "required") {
		t.Errorf("no name = %d:\n%s", status, doc.Text())
	}
	if n, _ := f.st.CountAdmins(t.Context()); n != 0 {
		t.Fatalf("%d administrators after refused posts, want 0", n)
	}
	if status, doc := f.post(path, good, true); status != 200 || !strings.Contains(doc.Find("h1").Text(), "ready") {
		t.Fatalf("activation = %d:\n%s", status, doc.Text())
	}
	ad, err := f.st.GetAdminByEmail(t.Context(), "iris@example.com")
	if err != nil || ad.Name != "Iris" || ad.Role != mfa.RoleReadOnly || !strings.HasPrefix(ad.PasswordHash, "$argon2id$") {
		t.Errorf("new administrator = %+v, %v", ad, err)
	}
	// Spent: the page says so, and a post (with a fresh token) creates nothing.
	status, doc = f.get(path)
	if status != 404 {
		t.Errorf("the link a second time = %d, want 404", status)
	}
	_, doc = f.get("/") // any page gives the renewed session's token
	good.Set("csrf_token", doc.Find(`meta[name=csrf-token]`).AttrOr("content", good.Get("csrf_token")))
	if status, _ := f.post(path, good, true); status != 404 && status != 403 {
		t.Errorf("posting the spent link = %d, want 404", status)
	}
	if n, _ := f.st.CountAdmins(t.Context()); n != 1 {
		t.Errorf("%d administrators, want 1", n)
	}
}
