package adminapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/admin"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// recorder keeps a copy of every request Duo's client sends.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(req.Context()))
	r.body = append(r.body, body)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// recordingDuo is Duo's Go client for in, recording what it sends.
func recordingDuo(f *fixture, in mfa.Integration) (*duoapi.DuoApi, *recorder) {
	api := duoapi.NewDuoApi(in.IKey, string(in.SKey.Reveal()), f.Host, "twostep-test", duoapi.SetTimeout(10*time.Second))
	rec := &recorder{base: f.srv.Client().Transport}
	api.SetCustomHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: rec})
	return api, rec
}

// A captured v2-signed request, re-sent with its parameters moved to the
// query string and an unsigned JSON body, must not reach the handler: v2
// does not cover a body (issue 9, item 1; reproduced against the old code,
// the user became bypass).
func TestReplayWithUnsignedJSONBody(t *testing.T) {
	f := newFixture(t)
	u := devUser(f, "victim")
	api, rec := recordingDuo(f, f.Key)
	mod, err := admin.New(*api).ModifyUser(u.ID, url.Values{"realname": {"Captured Name"}})
	if err != nil || mod.Stat != "OK" {
		t.Fatalf("ModifyUser() = %+v, %v", mod, err)
	}
	captured, form := rec.reqs[0], rec.body[0]
	if captured.Method != "POST" || len(form) == 0 {
		t.Fatalf("captured %s %s with body %q, want a POST with a form", captured.Method, captured.URL, form)
	}

	replay, err := http.NewRequest("POST", "https://"+f.Host+captured.URL.Path+"?"+string(form), strings.NewReader(`{"status":"bypass"}`))
	if err != nil {
		t.Fatal(err)
	}
	replay.Header.Set("Content-Type", "application/json")
	for _, h := range []string{"Authorization", "Date", "X-Duo-Date"} {
		if v := captured.Header.Get(h); v != "" {
			replay.Header.Set(h, v)
		}
	}
	resp, err := f.srv.Client().Do(replay)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got Response
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 401 || got.Code != 40103 || !strings.Contains(got.MessageDetail, "JSON body must be signed with a body-hashing signature (v5)") {
		t.Errorf("replay with a JSON body = %d %+v, want 401/40103 naming the reason", resp.StatusCode, got)
	}
	after, err := f.Store.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != mfa.StatusActive {
		t.Errorf("user status after the replay = %q, want active", after.Status)
	}

	// The honest JSON client (v5 hashes the body) still changes the user.
	if _, _, err := api.JSONSignedCall("POST", "/admin/v1/users/"+u.ID, duoapi.JSONParams{"notes": "signed"}); err != nil {
		t.Fatalf("JSONSignedCall() = %v", err)
	}
	if after, _ := f.Store.GetUser(t.Context(), u.ID); after.Notes != "signed" {
		t.Errorf("notes after a v5 JSON call = %q, want signed", after.Notes)
	}
}

// A scalar parameter sent twice is refused by name (the signature sorts
// the values, the handler would take the first); a list parameter may
// repeat.
func TestRepeatedParameterRefused(t *testing.T) {
	f := newFixture(t)
	u := devUser(f, "alice")
	devUser(f, "bob")

	r := f.Call(f.Key, "POST", "/admin/v1/users/"+u.ID, url.Values{"status": {"active", "bypass"}})
	if r.Status != 400 || r.Code != 40002 || r.MessageDetail != "status: repeated parameter" {
		t.Errorf("repeated status = %d %d %q, want 400 40002 %q", r.Status, r.Code, r.MessageDetail, "status: repeated parameter")
	}
	if after, _ := f.Store.GetUser(t.Context(), u.ID); after.Status != mfa.StatusActive {
		t.Errorf("status = %q, want active", after.Status)
	}

	var users []struct {
		Username string `json:"username"`
	}
	f.OK(f.Call(f.Key, "GET", "/admin/v1/users", url.Values{"username_list": {"alice", "bob"}}), &users)
	if len(users) != 2 {
		t.Errorf("username_list repeated = %+v, want alice and bob", users)
	}
}
