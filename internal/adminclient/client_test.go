package adminclient_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/adminclient"
	"github.com/twostep-auth/twostep/internal/adminclient/adminclienttest"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

func newClient(t *testing.T, fake *adminclienttest.Server, skey string) *adminclient.Client {
	t.Helper()
	pem, err := os.ReadFile(fake.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := adminclient.New(adminclient.Config{Host: fake.Host, IKey: adminclienttest.IKey, SKey: skey, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGetPostDeleteAreSignedAndCarryParams(t *testing.T) {
	fake := adminclienttest.New(t, func(w http.ResponseWriter, r adminclienttest.Request) {
		duoproto.WriteOK(w, map[string]string{"method": r.Method, "name": r.Params.Get("name")})
	})
	c := newClient(t, fake, adminclienttest.SKey)
	ctx := context.Background()
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		var got map[string]string
		p := url.Values{"name": {"a b+c/é"}}
		var err error
		switch m {
		case http.MethodGet:
			err = c.Get(ctx, "/admin/v1/users", p, &got)
		case http.MethodPost:
			err = c.Post(ctx, "/admin/v1/users", p, &got)
		default:
			err = c.Delete(ctx, "/admin/v1/users", p, &got)
		}
		if err != nil {
			t.Fatalf("%s error = %v", m, err)
		}
		if want := map[string]string{"method": m, "name": "a b+c/é"}; !cmp.Equal(got, want) {
			t.Errorf("%s = %v, want %v", m, got, want)
		}
	}
}

func TestFailEnvelopeBecomesError(t *testing.T) {
	fake := adminclienttest.New(t, adminclienttest.Routes(map[string]adminclienttest.Handler{
		"POST /admin/v1/users": func(w http.ResponseWriter, r adminclienttest.Request) {
			duoproto.WriteError(w, duoproto.BadParam("username: already exists"))
		},
		"GET /admin/v1/users/x": func(w http.ResponseWriter, r adminclienttest.Request) {
			duoproto.WriteError(w, duoproto.NotFound())
		},
	}))
	c := newClient(t, fake, adminclienttest.SKey)
	ctx := context.Background()
	tests := []struct {
		name      string
		method    string
		path      string
		wantText  string
		wantCode  int
		wantFound bool
	}{
		{"bad param", http.MethodPost, "/admin/v1/users", "Invalid request parameters: username: already exists (40002)", 40002, true},
		{"not found", http.MethodGet, "/admin/v1/users/x", "Resource not found (40401)", 40401, false},
		{"unrouted", http.MethodGet, "/admin/v1/nope", "Not Found (HTTP 404)", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Do(ctx, tt.method, tt.path, nil)
			var e *adminclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("Do() error = %v, want *adminclient.Error", err)
			}
			if err.Error() != tt.wantText || e.Code != tt.wantCode {
				t.Errorf("Do() error = %q (code %d), want %q (code %d)", err, e.Code, tt.wantText, tt.wantCode)
			}
			if got := adminclient.NotFound(err); got != !tt.wantFound {
				t.Errorf("NotFound(%v) = %v, want %v", err, got, !tt.wantFound)
			}
		})
	}
}

func TestWrongSecretIs401(t *testing.T) {
	fake := adminclienttest.New(t, func(w http.ResponseWriter, r adminclienttest.Request) { duoproto.WriteOK(w, "") })
	c := newClient(t, fake, strings.Repeat("x", 40))
	err := c.Get(context.Background(), "/admin/v1/users", nil, nil)
	var e *adminclient.Error
	if !errors.As(err, &e) || e.Code != 40103 || e.Status != 401 {
		t.Fatalf("Get() with a wrong skey error = %v, want 40103", err)
	}
	if strings.Contains(err.Error(), strings.Repeat("x", 40)) || strings.Contains(c.String(), "xxxx") {
		t.Error("the secret key leaks into an error or String()")
	}
}

func TestListFollowsNextOffset(t *testing.T) {
	const total = 7
	fake := adminclienttest.New(t, func(w http.ResponseWriter, r adminclienttest.Request) {
		off, _ := strconv.Atoi(r.Params.Get("offset"))
		var page []int
		for i := off; i < min(off+3, total); i++ {
			page = append(page, i)
		}
		meta := map[string]any{"total_objects": total}
		if off+3 < total {
			meta["next_offset"] = off + 3
		}
		duoproto.WriteOKMeta(w, page, meta)
	})
	c := newClient(t, fake, adminclienttest.SKey)
	got, err := c.List(context.Background(), "/admin/v1/users", url.Values{"username": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	var ints []int
	for _, raw := range got {
		var n int
		json.Unmarshal(raw, &n)
		ints = append(ints, n)
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6}; !cmp.Equal(ints, want) {
		t.Errorf("List() = %v, want %v", ints, want)
	}
	reqs := fake.Requests()
	if len(reqs) != 3 || reqs[2].Params.Get("offset") != "6" || reqs[2].Params.Get("username") != "x" {
		t.Errorf("requests = %+v, want 3 pages keeping the filter", reqs)
	}
}

func TestListLogsV2FollowsNextOffset(t *testing.T) {
	fake := adminclienttest.New(t, func(w http.ResponseWriter, r adminclienttest.Request) {
		resp := map[string]any{}
		switch r.Params.Get("next_offset") {
		case "":
			resp["authlogs"] = []map[string]string{{"txid": "a"}, {"txid": "b"}}
			resp["metadata"] = map[string]any{"next_offset": []string{"1700000000000", "b"}, "total_objects": 3}
		case "1700000000000,b":
			resp["authlogs"] = []map[string]string{{"txid": "c"}}
			resp["metadata"] = map[string]any{"total_objects": 3}
		default:
			duoproto.WriteError(w, duoproto.BadParam("next_offset"))
			return
		}
		duoproto.WriteOK(w, resp)
	})
	c := newClient(t, fake, adminclienttest.SKey)
	got, err := c.ListLogsV2(context.Background(), "/admin/v2/logs/authentication", "authlogs", url.Values{"mintime": {"1"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.Contains(string(got[2]), `"c"`) {
		t.Errorf("ListLogsV2() = %s, want a, b, c", got)
	}
	got, err = c.ListLogsV2(context.Background(), "/admin/v2/logs/authentication", "authlogs", nil, 1)
	if err != nil || len(got) != 1 {
		t.Errorf("ListLogsV2(max 1) = %s, %v; want one record", got, err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		give adminclient.Config
	}{
		{"no host", adminclient.Config{IKey: "i", SKey: "s"}},
		{"url as host", adminclient.Config{Host: "https://x/", IKey: "i", SKey: "s"}},
		{"no skey", adminclient.Config{Host: "x", IKey: "i"}},
	}
	for _, tt := range tests {
		if _, err := adminclient.New(tt.give); err == nil {
			t.Errorf("New(%s) error = nil, want an error", tt.name)
		}
	}
}
