package console_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/web"
)

// upload POSTs a token file through the import form.
func upload(t *testing.T, b *browser, typ, file string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField(web.CSRFField, b.csrf("/console/tokens"))
	mw.WriteField("type", typ)
	fw, _ := mw.CreateFormFile("file", "tokens.csv")
	fw.Write([]byte(file))
	mw.Close()
	req, _ := http.NewRequest("POST", "https://"+b.f.Host+"/console/tokens/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "https://"+b.f.Host)
	r, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	raw, _ := io.ReadAll(r.Body)
	return r, string(raw)
}

// tokenCSV is an HOTP CSV file of n rows; the row numbered bad (1-based,
// 0 for none) has a secret that is not hex.
func tokenCSV(prefix string, n, bad int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		secret := fmt.Sprintf("%040x", i)
		if i == bad {
			secret = "nothex"
		}
		fmt.Fprintf(&sb, "%s-%05d,%s,0\n", prefix, i, secret)
	}
	return sb.String()
}

// TestTokenImportProgress: a large upload is imported in the background;
// the administrator is sent to a page showing "N of M rows" in a
// <progress> that follows the import, then the usual report. The job is
// the administrator's alone (another gets 404), one runs at a time per
// administrator, the next replaces its report, and a report is forgotten
// 30 minutes after its import ends.
func TestTokenImportProgress(t *testing.T) {
	reached, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{}, 2)
	var once sync.Once
	const total, pause = 300, 150
	f := newFixture(t, func(d *server.Deps) {
		d.Console.ImportHook = func(done, n int, end bool) {
			switch {
			case end:
				finished <- struct{}{}
			case done == pause && n == total-1: // the first file only
				once.Do(func() { close(reached); <-release })
			}
		}
	})
	h := f.browser()
	h.signIn(f.Help)
	resp, body := upload(t, h, "h6", tokenCSV("BIG", total, 7))
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil {
		t.Fatalf("large upload = %d, want 303: %s", resp.StatusCode, body)
	}
	jobPath := loc.RequestURI()
	if !regexp.MustCompile(`^/console/tokens/import/[0-9a-f]{32}$`).MatchString(jobPath) {
		t.Fatalf("job page %q: not an unguessable id", jobPath)
	}
	<-reached
	doc := h.page(jobPath, 200)
	prog := doc.Find("progress#import-progress")
	if v, _ := prog.Attr("value"); v != "151" {
		t.Errorf("progress value = %q, want 151 (the parser's rejected line and 150 imported)", v)
	}
	if m, _ := prog.Attr("max"); m != "300" {
		t.Errorf("progress max = %q, want 300", m)
	}
	if got := doc.Find("#import-count").Text(); got != "151 of 300 rows" {
		t.Errorf("count = %q", got)
	}
	if c, _ := doc.Find(`[data-poll]`).Attr("data-poll"); c == "" || doc.Find(`script[src="/static/twostep.js"]`).Length() != 1 {
		t.Error("the progress page is not polled")
	}

	// Another administrator, an unknown id: 404.
	o := f.browser()
	o.signIn(f.Owner)
	if r := mustDo(o, "GET", jobPath); r.StatusCode != http.StatusNotFound {
		t.Errorf("another administrator's job = %d, want 404", r.StatusCode)
	}
	if r := mustDo(h, "GET", "/console/tokens/import/00000000000000000000000000000000"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown job = %d, want 404", r.StatusCode)
	}
	// A role that may not import: 403; signed out: to the sign-in page.
	ro := f.browser()
	ro.signIn(f.admin("readonly@example.com", mfa.RoleReadOnly, true))
	if r := mustDo(ro, "GET", jobPath); r.StatusCode != http.StatusForbidden {
		t.Errorf("Read-only on the job page = %d, want 403", r.StatusCode)
	}
	if r := mustDo(f.browser(), "GET", jobPath); r.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out on the job page = %d, want 303", r.StatusCode)
	}
	// A second large import while the first runs: refused beside the file field.
	resp, body = upload(t, h, "h6", tokenCSV("TWO", 201, 0))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(parse(t, body).Find(`.error-summary a[href="#f-file"]`).Text(), "still running") {
		t.Errorf("second import while one runs = %d: %s", resp.StatusCode, parse(t, body).Find(".error-summary").Text())
	}
	// A small file still answers directly meanwhile.
	resp, body = upload(t, h, "h6", tokenCSV("SMALL", 3, 0))
	if resp.StatusCode != http.StatusOK || !strings.Contains(parse(t, body).Find("#import-summary").Text(), "3 tokens imported") {
		t.Errorf("small import = %d: %s", resp.StatusCode, parse(t, body).Find("#import-summary").Text())
	}

	close(release)
	<-finished
	resp, body = h.do("GET", jobPath, nil, nil)
	doc = parse(t, body)
	if resp.StatusCode != 200 || !strings.Contains(doc.Find("#import-summary").Text(), "299 tokens imported, 1 line rejected") {
		t.Fatalf("report = %d %q", resp.StatusCode, doc.Find("#import-summary").Text())
	}
	if doc.Find(`[data-poll]`).Length() != 0 {
		t.Error("the report is still polled")
	}
	if row := doc.Find("table.rejected tbody tr"); row.Length() != 1 || !strings.HasPrefix(row.Find("td").First().Text(), "7") {
		t.Errorf("rejected rows: %q", row.Text())
	}
	if strings.Contains(body, "nothex") || strings.Contains(body, fmt.Sprintf("%040x", 8)) {
		t.Error("the report shows key material")
	}
	if _, n, _ := f.Store.ListTokens(t.Context(), mfa.TokenFilter{}); n != 299+3 { // the big file's and the small one's
		t.Errorf("%d tokens stored, want 302", n)
	}
	// A new large import replaces the last report.
	resp, body = upload(t, h, "h6", tokenCSV("NEXT", 201, 0))
	loc, _ = resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.RequestURI() == jobPath {
		t.Fatalf("next large upload = %d %v: %s", resp.StatusCode, loc, body)
	}
	<-finished
	if r := mustDo(h, "GET", jobPath); r.StatusCode != http.StatusNotFound {
		t.Errorf("the replaced report = %d, want 404", r.StatusCode)
	}
	jobPath = loc.RequestURI()
	// Kept 30 minutes after it ended, then forgotten.
	f.Advance(29 * time.Minute)
	h.signIn(f.Help) // the session was idle too long
	if r := mustDo(h, "GET", jobPath); r.StatusCode != http.StatusOK {
		t.Errorf("report after 29 minutes = %d, want 200", r.StatusCode)
	}
	f.Advance(2 * time.Minute)
	if r := mustDo(h, "GET", jobPath); r.StatusCode != http.StatusNotFound {
		t.Errorf("report after 31 minutes = %d, want 404", r.StatusCode)
	}
}
