package authapi_test

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// logo fetches GET /auth/v2/logo signed with the fixture's key.
func (f *fixture) logo() (*http.Response, []byte) {
	f.t.Helper()
	resp, body, err := f.duoAPI().SignedCall("GET", "/auth/v2/logo", nil)
	if err != nil {
		f.t.Fatalf("GET /auth/v2/logo: %v", err)
	}
	return resp, body
}

func TestLogoDefault(t *testing.T) {
	f := newFixture(t)
	got, err := f.Duo().Logo()
	if err != nil || got.Stat != "OK" {
		t.Fatalf("Logo() = %+v, %v; want OK", got, err)
	}
	resp, body := f.logo()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("logo = %d %s, want 200 image/png", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want, err := os.ReadFile("logo.png")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("logo = %d bytes, want twostep's logo.png (%d bytes)", len(body), len(want))
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil || img.Bounds().Dx() < 32 {
		t.Errorf("the default logo does not decode as a PNG: %v", err)
	}
}

func TestLogoConfigured(t *testing.T) {
	custom := []byte("\x89PNG\r\n\x1a\nnot really, but served as configured")
	f := newAdminFixture(t, custom)
	resp, body := f.logo()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, custom) {
		t.Errorf("logo = %d %s %q, want the configured bytes as image/png", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestLogoNeedsSignature(t *testing.T) {
	f := newFixture(t)
	c := &http.Client{Timeout: 10 * time.Second, Transport: f.srv.Client().Transport}
	resp, err := c.Get("https://" + f.Host + "/auth/v2/logo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Errorf("unsigned logo = %d %q, want 401", resp.StatusCode, body)
	}
}
