package web_test

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/web"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	web.New(web.Deps{}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// decodeQR reads the text of a PNG QR code with the decoder the twostep
// app uses (gozxing's finder-pattern detector alone misreads about one
// generated code in 200, so the app falls back to pure-barcode mode).
func decodeQR(t *testing.T, b []byte) string {
	t.Helper()
	text, err := deviceclient.DecodeQR(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return text
}

func TestQR(t *testing.T) {
	srv := newServer(t)
	tests := []string{
		"AbCdEfGhIjKlMnOpQr12-dHdvc3RlcC5leGFtcGxlLmNvbTo4NDQz",
		"duo://AbCdEfGhIjKlMnOpQr12-YQ",
		"0123456789",
		"HELLO WORLD",
		"héllo ✓ <&>",
		strings.Repeat("x", web.MaxQRValue),
	}
	for _, give := range tests {
		resp, body := get(t, srv, "/frame/qr?value="+url.QueryEscape(give))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET /frame/qr?value=%.20q = %d %s %q; want a PNG, not cached", give, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
			continue
		}
		if got := decodeQR(t, body); got != give {
			t.Errorf("QR of %.20q decodes to %.20q", give, got)
		}
	}
}

func TestQRBadInput(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		give string
		want string
	}{
		{give: "/frame/qr", want: "value: required"},
		{give: "/frame/qr?value=", want: "value: required"},
		{give: "/frame/qr?value=" + strings.Repeat("x", web.MaxQRValue+1), want: "value: longer than 512 bytes"},
		{give: "/frame/qr?value=%ff%fe", want: "value: not valid UTF-8"},
	}
	for _, tt := range tests {
		resp, body := get(t, srv, tt.give)
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || strings.TrimSpace(string(body)) != tt.want {
			t.Errorf("GET %.40s = %d %s %q; want 400 text %q", tt.give, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.want)
		}
	}
	resp, err := srv.Client().Post(srv.URL+"/frame/qr?value=x", "text/plain", nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /frame/qr = %d, want 405", resp.StatusCode)
		}
	}
}

// Minimal HTML inspection (no HTML parser in the dependencies): find
// elements by tag and read their attributes.
var attrRE = regexp.MustCompile(`([a-zA-Z-]+)(?:="([^"]*)")?`)

// elements returns the attributes of every start tag named tag.
func elements(body, tag string) []map[string]string {
	var out []map[string]string
	for _, m := range regexp.MustCompile(`<`+tag+`\b([^>]*)>`).FindAllStringSubmatch(body, -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(m[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		out = append(out, attrs)
	}
	return out
}

// text returns the unescaped text content of the element with id.
func text(t *testing.T, body, tag, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<` + tag + `[^>]*\bid="` + id + `"[^>]*>([^<]*)</` + tag + `>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no <%s id=%q> in the page", tag, id)
	}
	return html.UnescapeString(m[1])
}

func checkSecurityHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	// WEB.md's policy: scripts and styles from this server only, never
	// inline; no framing; forms only to this server.
	const want = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if csp := resp.Header.Get("Content-Security-Policy"); csp != want {
		t.Errorf("Content-Security-Policy = %q, want %q", csp, want)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers = %v; want nosniff, no-referrer and DENY framing", resp.Header)
	}
}

// checkStrictPage fails if the page has scripts, inline styles or event
// handlers, which the CSP would block, or lacks the basics of an
// accessible page.
func checkStrictPage(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{"<script", "<style", " style=", " onload=", " onclick=", "javascript:"} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if h := elements(body, "html"); len(h) != 1 || h[0]["lang"] != "en" {
		t.Errorf("<html> = %v; want one with lang=en", h)
	}
	if n := len(elements(body, "h1")); n != 1 {
		t.Errorf("page has %d <h1>, want 1", n)
	}
	for _, img := range elements(body, "img") {
		if img["alt"] == "" {
			t.Errorf("<img %v> has no alt text", img)
		}
	}
	labels := map[string]bool{}
	for _, l := range elements(body, "label") {
		labels[l["for"]] = true
	}
	for _, in := range elements(body, "input") {
		if !labels[in["id"]] {
			t.Errorf("<input %v> has no label", in)
		}
	}
}

func TestActivatePage(t *testing.T) {
	srv := newServer(t)
	tests := []string{
		"AbCdEfGhIjKlMnOpQr12-dHdvc3RlcC5leGFtcGxlLmNvbTo4NDQz",
		`"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;'`,
	}
	for _, code := range tests {
		resp, b := get(t, srv, "/activate/"+url.PathEscape(code))
		body := string(b)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET /activate/%.20q = %d %s %q; want an uncached page", code, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		checkSecurityHeaders(t, resp)
		checkStrictPage(t, body)
		if !strings.Contains(body, "<h1>Activate twostep on this device</h1>") {
			t.Errorf("page lacks its heading:\n%s", body)
		}
		inputs := elements(body, "input")
		if len(inputs) != 1 {
			t.Fatalf("inputs = %v; want the code field", inputs)
		}
		if _, ro := inputs[0]["readonly"]; inputs[0]["value"] != code || !ro {
			t.Errorf("code field = %v; want a read-only field holding %q", inputs, code)
		}
		if got := text(t, body, "code", "command"); got != "twostep activate "+code {
			t.Errorf("command = %q, want %q", got, "twostep activate "+code)
		}
		var imgs []map[string]string // the QR code, beside the organisation's logo
		for _, img := range elements(body, "img") {
			if img["class"] == "qr" {
				imgs = append(imgs, img)
			}
		}
		if len(imgs) != 1 || !strings.HasPrefix(imgs[0]["src"], "/frame/qr?value=") {
			t.Fatalf("images = %v; want the QR code", imgs)
		}
		qr, png := get(t, srv, imgs[0]["src"])
		if qr.StatusCode != 200 {
			t.Fatalf("GET %s = %d", imgs[0]["src"], qr.StatusCode)
		}
		if got := decodeQR(t, png); got != code {
			t.Errorf("the page's QR code decodes to %q, want %q", got, code)
		}
		if strings.Contains(code, "<") && (strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x")) {
			t.Errorf("hostile code was not escaped:\n%s", body)
		}
	}
	if !strings.Contains(tests[1], "&amp;") {
		t.Fatal("the hostile code must carry an entity, to prove it is escaped and not decoded")
	}

	for _, tt := range []struct {
		give string
		want int
	}{
		{"/activate/" + strings.Repeat("x", web.MaxQRValue+1), 400},
		{"/activate/a%07b", 400},
		{"/activate/", 404},
	} {
		if resp, _ := get(t, srv, tt.give); resp.StatusCode != tt.want {
			t.Errorf("GET %.30s = %d, want %d", tt.give, resp.StatusCode, tt.want)
		}
	}
}

func TestInstallPageAndStylesheet(t *testing.T) {
	srv := newServer(t)
	resp, b := get(t, srv, "/install")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<h1>Install twostep</h1>") {
		t.Fatalf("GET /install = %d\n%s", resp.StatusCode, b)
	}
	checkSecurityHeaders(t, resp)
	checkStrictPage(t, string(b))
	links := elements(string(b), "link")
	if len(links) != 1 || links[0]["rel"] != "stylesheet" {
		t.Fatalf("links = %v; want the stylesheet", links)
	}
	css, body := get(t, srv, links[0]["href"])
	if css.StatusCode != 200 || css.Header.Get("Content-Type") != "text/css; charset=utf-8" || !bytes.Contains(body, []byte("main {")) {
		t.Errorf("GET %s = %d %s", links[0]["href"], css.StatusCode, css.Header.Get("Content-Type"))
	}
}
