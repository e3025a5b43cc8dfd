package authapi_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// postV2 makes one signed Auth API call without Duo's client, which would
// retry a 429 by itself, and returns the response and its envelope.
func (f *fixture) postV2(path string, params url.Values) (*http.Response, envelope) {
	f.t.Helper()
	body := []byte(params.Encode())
	req, err := http.NewRequest(http.MethodPost, "https://"+f.Host+path, strings.NewReader(string(body)))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := duoproto.SignRequest(req, f.Key.IKey, string(f.Key.SKey.Reveal()), 2, body); err != nil {
		f.t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		f.t.Fatalf("POST %s: %q is not a Duo envelope", path, raw)
	}
	e.Status = resp.StatusCode
	return resp, e
}

// TestDurableLimitOnTheWire: an attempt over the durable per-user limit is
// 429/42901 with the limit's Retry-After on /auth/v2, and a deny the user
// can read on /rest/v1 (duo_unix gives up on a 429 without a word).
func TestDurableLimitOnTheWire(t *testing.T) {
	f := newFixture(t, authflow.WithLimits(authflow.Limit{}, authflow.Limit{}),
		authflow.WithDurableLimits(authflow.DurableLimit{Limit: 2, Window: 10 * time.Minute}, authflow.DurableLimit{}))
	f.app(f.user("alice", mfa.StatusActive), []byte("12345678901234567890"), false)
	attempt := url.Values{"username": {"alice"}, "factor": {"passcode"}, "passcode": {"000000"}, "ipaddr": {"192.0.2.7"}}
	for i := range 2 {
		if _, e := f.postV2("/auth/v2/auth", attempt); e.Status != 200 || e.Stat != "OK" {
			t.Fatalf("attempt %d = %d %+v, want 200 OK", i+1, e.Status, e)
		}
	}
	resp, e := f.postV2("/auth/v2/auth", attempt)
	if e.Status != 429 || e.Code != 42901 {
		t.Fatalf("3rd attempt = %d %+v, want 429/42901", e.Status, e)
	}
	// The window started with the first attempt, moments ago: about ten
	// minutes are left, not the generic one.
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 590 || s > 600 {
		t.Errorf("Retry-After = %q, want about 600 (the rest of the 10-minute window)", resp.Header.Get("Retry-After"))
	}

	key := f.unixKey("ssh")
	r := f.legacy(key, "POST", "/rest/v1/auth.bson", url.Values{"user": {"alice"}, "factor": {"auto"}, "auto": {"000000"},
		"async": {"0"}, "ipaddr": {"192.0.2.7"}})
	if r.Status != 200 {
		t.Fatalf("legacy attempt over the limit = %d %v, want 200", r.Status, r.Raw)
	}
	if got, st := r.str(t, "result"), r.str(t, "status"); got != "deny" || !strings.Contains(st, "Too many attempts") {
		t.Errorf("legacy attempt over the limit = %s %q, want deny with a reason", got, st)
	}
}
