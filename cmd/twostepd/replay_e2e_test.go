package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/adminclient"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// capturedRequest is one signed request as an attacker who captured it
// holds it: the method, path, headers and body, to be sent again byte for
// byte, to any node.
type capturedRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

// captureSigned signs a form POST the way Duo's clients do (v2, SHA-512,
// Date now), for the host name without a port so that every node on
// localhost accepts it.
func captureSigned(t *testing.T, ikey, skey, method, path string, params url.Values) capturedRequest {
	t.Helper()
	body := []byte(params.Encode())
	req, err := http.NewRequest(method, "https://localhost"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := duoproto.SignRequest(req, ikey, skey, 2, body); err != nil {
		t.Fatal(err)
	}
	return capturedRequest{method: method, path: path, header: req.Header.Clone(), body: body}
}

// duoAnswer is a Duo envelope.
type duoAnswer struct {
	Status   int
	Stat     string          `json:"stat"`
	Code     int             `json:"code"`
	Message  string          `json:"message"`
	Detail   string          `json:"message_detail"`
	Response json.RawMessage `json:"response"`
}

// send sends the captured request to addr ("127.0.0.1:port").
func (c capturedRequest) send(t *testing.T, hc *http.Client, addr string) duoAnswer {
	t.Helper()
	req, err := http.NewRequest(c.method, "https://"+addr+c.path, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = c.header.Clone()
	resp, err := hc.Do(req)
	if err != nil {
		t.Errorf("%s %s to %s: %v", c.method, c.path, addr, err)
		return duoAnswer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := duoAnswer{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Errorf("%s %s to %s: HTTP %d, not a Duo envelope: %s", c.method, c.path, addr, resp.StatusCode, raw)
	}
	return a
}

// wantReplayRefused fails t unless a is the answer to a replayed signature.
func wantReplayRefused(t *testing.T, what string, a duoAnswer) {
	t.Helper()
	if a.Status != http.StatusForbidden || a.Stat != "FAIL" || a.Code != 40301 ||
		!strings.Contains(a.Detail, "already used") {
		t.Errorf("%s = HTTP %d %s %d %q (%q), want 403 FAIL 40301 naming the replay", what, a.Status, a.Stat, a.Code, a.Message, a.Detail)
	}
}

// localhostClient trusts pool and sends every request to 127.0.0.1 with
// the TLS server name localhost (the certificate's name), so that the Host
// header and SNI are "localhost:port".
func localhostClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, MaxIdleConnsPerHost: 32}}
}

// bypassCodes returns how many bypass codes the user holds.
func bypassCodes(t *testing.T, adm *adminclient.Client, userID string) int {
	t.Helper()
	list, err := adm.List(t.Context(), "/admin/v1/users/"+userID+"/bypass_codes", nil)
	if err != nil {
		t.Fatalf("list bypass codes: %v", err)
	}
	return len(list)
}

// createUser creates a user through the Admin API and returns its id.
func createUser(t *testing.T, adm *adminclient.Client, name string) string {
	t.Helper()
	var u struct {
		UserID string `json:"user_id"`
	}
	if err := adm.Post(t.Context(), "/admin/v1/users", url.Values{"username": {name}}, &u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u.UserID
}

// TestReplayedSignedRequestRefused: a captured signed POST
// .../bypass_codes sent again inside the clock-skew window used to give a
// second set of codes. It is now accepted once: the copy gets 403/40301
// and the user holds the first set only.
func TestReplayedSignedRequestRefused(t *testing.T) {
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	adm, err := adminclient.New(adminclient.Config{Host: creds.APIHost, IKey: creds.AdminAPI.IKey,
		SKey: creds.AdminAPI.SKey, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	id := createUser(t, adm, "rita")
	hc := localhostClient(pool)

	req := captureSigned(t, creds.AdminAPI.IKey, creds.AdminAPI.SKey, http.MethodPost,
		"/admin/v1/users/"+id+"/bypass_codes", url.Values{"count": {"2"}, "preserve_existing": {"true"}})
	first := req.send(t, hc, in.addr)
	var codes []string
	if first.Status != http.StatusOK || json.Unmarshal(first.Response, &codes) != nil || len(codes) != 2 {
		t.Fatalf("first POST bypass_codes = HTTP %d %s %q (%q) %s, want 200 with 2 codes",
			first.Status, first.Stat, first.Message, first.Detail, first.Response)
	}
	wantReplayRefused(t, "the same signed POST again", req.send(t, hc, in.addr))
	if n := bypassCodes(t, adm, id); n != 2 {
		t.Errorf("rita holds %d bypass codes after the replay, want 2", n)
	}

	// A replay with the signature's hex digits in upper case verifies too
	// (hex decoding ignores case), so it is the same claim.
	upper := req
	upper.header = req.header.Clone()
	ikey, sig := splitAuthorization(t, req.header.Get("Authorization"))
	upper.header.Set("Authorization", basicAuth(ikey, strings.ToUpper(sig)))
	wantReplayRefused(t, "the replay with an upper-case signature", upper.send(t, hc, in.addr))

	// Reads are not claimed: the same signed GET works twice.
	get := captureSigned(t, creds.AdminAPI.IKey, creds.AdminAPI.SKey, http.MethodGet, "/admin/v1/users/"+id, nil)
	for i := range 2 {
		if a := get.send(t, hc, in.addr); a.Status != http.StatusOK {
			t.Errorf("signed GET, copy %d = HTTP %d %d %q, want 200", i+1, a.Status, a.Code, a.Detail)
		}
	}
	// A new signature (a new date or new parameters) is a new request.
	if err := adm.Post(t.Context(), "/admin/v1/users/"+id+"/bypass_codes",
		url.Values{"count": {"1"}, "preserve_existing": {"true"}}, nil); err != nil {
		t.Errorf("a freshly signed POST bypass_codes: %v", err)
	}
	if n := bypassCodes(t, adm, id); n != 3 {
		t.Errorf("rita holds %d bypass codes, want 3", n)
	}
}

// TestReplayAcrossNodesPostgres: the same captured request sent to two
// nodes on one PostgreSQL database, eight copies to each at the same
// moment: exactly one copy is accepted, on whichever node, and every other
// one is refused as a replay.
func TestReplayAcrossNodesPostgres(t *testing.T) {
	c := startRaceCluster(t)
	id := createUser(t, c.admin, "rhea")
	hc := localhostClient(c.pool)
	req := captureSigned(t, c.creds.AdminAPI.IKey, c.creds.AdminAPI.SKey, http.MethodPost,
		"/admin/v1/users/"+id+"/bypass_codes", url.Values{"count": {"2"}, "preserve_existing": {"true"}})

	const copies = 8
	answers := make([]duoAnswer, 2*copies)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			<-start
			answers[i] = req.send(t, hc, c.nodes[i%2].addr)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, a := range answers {
		if a.Status == http.StatusOK {
			ok++
			continue
		}
		wantReplayRefused(t, "copy "+string(rune('A'+i%2))+" of the request", a)
	}
	if ok != 1 {
		t.Errorf("%d copies of one signed request on two nodes: %d accepted, want exactly 1", len(answers), ok)
	}
	if n := bypassCodes(t, c.admin, id); n != 2 {
		t.Errorf("rhea holds %d bypass codes, want 2 (one set)", n)
	}
	// And once more, in turn, on each node.
	for i := range 2 {
		wantReplayRefused(t, "the request again on node "+string(rune('A'+i)), req.send(t, hc, c.nodes[i].addr))
	}
}

// TestV1SignaturesOnlyForUnix: allow_v1_signatures cannot be set on an
// Auth API or Admin API integration (400/40002), and a unix integration's
// can be turned off, after which its timestamp-less v1 requests are refused
// (401/40104) while v2 keeps working.
func TestV1SignaturesOnlyForUnix(t *testing.T) {
	in := startServe(t, nil)
	creds, _ := readCredentials(t, in.data)
	pool := trustCA(t, creds.CAFile)
	adm, err := adminclient.New(adminclient.Config{Host: creds.APIHost, IKey: creds.AdminAPI.IKey,
		SKey: creds.AdminAPI.SKey, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"authapi", "adminapi"} {
		err := adm.Post(t.Context(), "/admin/v1/integrations",
			url.Values{"name": {"v1 " + typ}, "type": {typ}, "allow_v1_signatures": {"1"}}, nil)
		var ae *adminclient.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != 40002 || !strings.Contains(ae.Detail, "allow_v1_signatures") {
			t.Errorf("create %s integration with allow_v1_signatures=1: %v, want 400/40002 naming allow_v1_signatures", typ, err)
		}
	}
	var unix struct {
		IKey string `json:"integration_key"`
		SKey string `json:"secret_key"`
		V1   int    `json:"allow_v1_signatures"`
	}
	if err := adm.Post(t.Context(), "/admin/v1/integrations", url.Values{"name": {"ssh"}, "type": {"unix"}}, &unix); err != nil || unix.V1 != 1 {
		t.Fatalf("create unix integration = %+v, %v; want allow_v1_signatures 1", unix, err)
	}
	hc := localhostClient(pool)
	preauth := func() duoAnswer {
		body := []byte(url.Values{"user": {"nobody"}}.Encode())
		req, _ := http.NewRequest(http.MethodPost, "https://localhost/rest/v1/preauth.json", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := duoproto.SignRequest(req, unix.IKey, unix.SKey, 1, body, duoproto.WithSHA1()); err != nil {
			t.Fatal(err)
		}
		return capturedRequest{method: req.Method, path: req.URL.Path, header: req.Header, body: body}.send(t, hc, in.addr)
	}
	// Dateless v1 requests are not claimed: login_duo signs two logins of
	// one user from one host identically.
	for i := range 2 {
		if a := preauth(); a.Status != http.StatusOK {
			t.Errorf("v1 preauth %d on a unix integration = HTTP %d %d %q, want 200", i+1, a.Status, a.Code, a.Message)
		}
	}
	if err := adm.Post(t.Context(), "/admin/v1/integrations/"+unix.IKey, url.Values{"allow_v1_signatures": {"0"}}, nil); err != nil {
		t.Fatalf("turn v1 off: %v", err)
	}
	if a := preauth(); a.Status != http.StatusUnauthorized || a.Code != 40104 {
		t.Errorf("v1 preauth after turning v1 off = HTTP %d %d %q, want 401 40104", a.Status, a.Code, a.Message)
	}
}

// splitAuthorization returns the ikey and signature of "Basic ...".
func splitAuthorization(t *testing.T, h string) (ikey, sig string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	ikey, sig, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		t.Fatalf("Authorization %q is not Basic ikey:sig", h)
	}
	return ikey, sig
}

func basicAuth(ikey, sig string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(ikey+":"+sig))
}
