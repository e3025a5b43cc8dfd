package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// counting counts integration lookups: a request refused before its
// signature is checked makes none.
type counting struct {
	integrations
	mu sync.Mutex
	n  int
}

func (c *counting) GetIntegration(ctx context.Context, ikey string) (mfa.Integration, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.integrations.GetIntegration(ctx, ikey)
}

func (c *counting) lookups() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

const (
	guardIKey = "DIAUTH0000000000000A"
	guardSKey = "skey-guard-0123456789abcdefghijklmnopqrs"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func guardSurface(now func() time.Time, limit FailureLimit) (*Surface, *counting) {
	store := &counting{integrations: integrations{
		guardIKey: {IKey: guardIKey, SKey: mfa.Secret(guardSKey), Type: mfa.IntegrationAuthAPI},
	}}
	return &Surface{Name: "Auth API", Allowed: mfa.IntegrationType.IsAuth, Store: store, Now: now,
		Logger: slog.New(slog.DiscardHandler), Failures: NewFailureLimiter(limit, now)}, store
}

// send signs a request from remote (skey "" signs with a wrong key) and
// serves it.
func send(t *testing.T, h http.Handler, now time.Time, remote, method, target, ctype, body, skey string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.RemoteAddr = remote
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if skey == "" {
		skey = "wrong-" + guardSKey
	}
	if err := duoproto.SignRequest(req, guardIKey, skey, 2, []byte(body), duoproto.WithNow(func() time.Time { return now })); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func ok(w http.ResponseWriter, r *http.Request, c *Caller) error {
	duoproto.WriteOK(w, c.Params.Params)
	return nil
}

// Repeated 401s from one source are answered 429 with Retry-After, before
// the integration is even looked up, until the source's bucket refills;
// other sources, and the same source later, are served.
func TestFailureLimit(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	s, store := guardSurface(clk.Now, FailureLimit{Burst: 3, Every: 20 * time.Second})
	h := s.Handle(ok)
	const target = "https://localhost/auth/v2/check"
	for i := range 3 {
		if rec := send(t, h, clk.Now(), "192.0.2.7:4000", "GET", target, "", "", ""); rec.Code != 401 {
			t.Fatalf("bad signature %d = %d %s, want 401", i+1, rec.Code, rec.Body)
		}
	}
	before := store.lookups()
	for _, skey := range []string{"", guardSKey} { // even a good signature waits
		rec := send(t, h, clk.Now(), "192.0.2.7:4001", "GET", target, "", "", skey)
		if rec.Code != 429 || !strings.Contains(rec.Body.String(), `"code":42901`) || rec.Header().Get("Retry-After") != "20" {
			t.Fatalf("after 3 failures = %d %s Retry-After %q, want 429/42901 Retry-After 20", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
		}
	}
	if got := store.lookups(); got != before {
		t.Errorf("refused requests looked the integration up %d times, want 0", got-before)
	}
	if rec := send(t, h, clk.Now(), "198.51.100.1:4000", "GET", target, "", "", guardSKey); rec.Code != 200 {
		t.Errorf("another source = %d %s, want 200", rec.Code, rec.Body)
	}
	clk.Add(20 * time.Second)
	if rec := send(t, h, clk.Now(), "192.0.2.7:4002", "GET", target, "", "", guardSKey); rec.Code != 200 {
		t.Errorf("after Retry-After = %d %s, want 200", rec.Code, rec.Body)
	}
	// A good request does not refill the bucket: the next failure is
	// refused again at once.
	send(t, h, clk.Now(), "192.0.2.7:4003", "GET", target, "", "", "")
	if rec := send(t, h, clk.Now(), "192.0.2.7:4003", "GET", target, "", "", guardSKey); rec.Code != 429 {
		t.Errorf("after one more failure = %d, want 429", rec.Code)
	}
}

// An IPv6 client is counted by its /64: rotating through the addresses of
// one subscriber's prefix does not reset the count.
func TestFailureLimitIPv6Prefix(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	s, _ := guardSurface(clk.Now, FailureLimit{Burst: 2, Every: time.Minute})
	h := s.Handle(ok)
	const target = "https://localhost/auth/v2/check"
	send(t, h, clk.Now(), "[2001:db8:1:2::1]:5000", "GET", target, "", "", "")
	send(t, h, clk.Now(), "[2001:db8:1:2:ffff::9]:5000", "GET", target, "", "", "")
	if rec := send(t, h, clk.Now(), "[2001:db8:1:2:aaaa::1]:5000", "GET", target, "", "", guardSKey); rec.Code != 429 {
		t.Errorf("same /64 = %d, want 429", rec.Code)
	}
	if rec := send(t, h, clk.Now(), "[2001:db8:1:3::1]:5000", "GET", target, "", "", guardSKey); rec.Code != 200 {
		t.Errorf("next /64 = %d %s, want 200", rec.Code, rec.Body)
	}
	if rec := send(t, h, clk.Now(), "[::ffff:192.0.2.9]:5000", "GET", target, "", "", guardSKey); rec.Code != 200 {
		t.Errorf("IPv4-mapped = %d %s, want 200", rec.Code, rec.Body)
	}
}

// However many sources fail, the limiter keeps at most maxSources.
func TestFailureLimiterMemoryBound(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	l := NewFailureLimiter(FailureLimit{Burst: 5, Every: time.Hour}, clk.Now)
	for i := range 3 * maxSources {
		l.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if n := len(l.sources); n > maxSources {
		t.Errorf("sources = %d, want at most %d", n, maxSources)
	}
	var nilLimiter *FailureLimiter
	nilLimiter.fail("x")
	if ok, _ := nilLimiter.allow("x"); !ok {
		t.Error("a nil limiter refused")
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct{ give, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"[2001:db8::1]:1234", "2001:db8::/64"},
		{"[fe80::1%eth0]:1234", "fe80::/64"},
		{"[::ffff:192.0.2.1]:1", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"},
		{"pipe", "pipe"},
	}
	for _, tt := range tests {
		if got := sourceKey(tt.give); got != tt.want {
			t.Errorf("sourceKey(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// A parameter sent twice is refused by name after the signature is
// checked, unless the route takes it as a list; a bad signature learns 401.
func TestRepeatedParameters(t *testing.T) {
	now := time.Now()
	s, _ := guardSurface(func() time.Time { return now }, FailureLimit{})
	scalar := s.Handle(ok)
	list := s.Handle(ok, "username_list")
	const target = "https://localhost/admin/v1/users"
	tests := []struct {
		name         string
		h            http.Handler
		query, form  string
		skey         string
		wantStatus   int
		wantContains string
	}{
		{name: "query twice", h: scalar, query: "status=active&status=bypass", wantStatus: 400, wantContains: `"message_detail":"status: repeated parameter"`},
		{name: "query and form", h: scalar, query: "status=active", form: "status=bypass", wantStatus: 400, wantContains: `"message_detail":"status: repeated parameter"`},
		{name: "form twice", h: scalar, form: "username=a&username=b&realname=x&realname=y", wantStatus: 400, wantContains: `"message_detail":"realname: repeated parameter"`},
		{name: "bad signature learns 401", h: scalar, query: "status=active&status=bypass", skey: "x", wantStatus: 401, wantContains: `"code":40103`},
		{name: "list route", h: list, query: "username_list=a&username_list=b", wantStatus: 200, wantContains: `"username_list":["a","b"]`},
		{name: "list route, scalar repeated", h: list, query: "username_list=a&limit=1&limit=2", wantStatus: 400, wantContains: `"message_detail":"limit: repeated parameter"`},
		{name: "once each", h: scalar, query: "a=1", form: "b=2", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skey := guardSKey
			if tt.skey != "" {
				skey = tt.skey + "-wrong"
			}
			method, ctype := "GET", ""
			if tt.form != "" {
				method, ctype = "POST", "application/x-www-form-urlencoded"
			}
			u := target
			if tt.query != "" {
				u += "?" + tt.query
			}
			rec := send(t, tt.h, now, "192.0.2.1:1", method, u, ctype, tt.form, skey)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantContains) {
				t.Errorf("%s = %d %s, want %d containing %s", tt.name, rec.Code, rec.Body, tt.wantStatus, tt.wantContains)
			}
		})
	}
}

// 4,000 parameters are refused at once, before the integration is looked
// up or any signature computed.
func TestTooManyParametersRefusedAtOnce(t *testing.T) {
	now := time.Now()
	s, store := guardSurface(func() time.Time { return now }, FailureLimit{})
	form := url.Values{}
	for i := range 4000 {
		form.Set(fmt.Sprintf("p%d", i), "v")
	}
	rec := send(t, s.Handle(ok), now, "192.0.2.1:1", "POST", "https://localhost/auth/v2/auth", "application/x-www-form-urlencoded", form.Encode(), "")
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"message_detail":"more than 300 parameters"`) {
		t.Errorf("4000 parameters = %d %s, want 400 naming the limit", rec.Code, rec.Body)
	}
	if n := store.lookups(); n != 0 {
		t.Errorf("integration looked up %d times, want 0", n)
	}
}
