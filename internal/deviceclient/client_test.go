package deviceclient_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/deviceclient"
	"github.com/twostep-auth/twostep/internal/deviceclient/deviceclienttest"
)

var (
	keyOnce sync.Once
	keys    [2]*rsa.PrivateKey
)

// testKey returns one of two RSA-2048 keys, generated once per test binary.
func testKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		for j := range keys {
			k, err := deviceclient.NewKey()
			if err != nil {
				panic(err)
			}
			keys[j] = k
		}
	})
	return keys[i]
}

func newClient(t *testing.T, s *deviceclienttest.Server, now func() time.Time) *deviceclient.Client {
	t.Helper()
	c, err := deviceclient.New(deviceclient.Config{Host: s.Host, RootCAs: s.Pool, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// activate redeems a new code on s and returns the device.
func activate(t *testing.T, s *deviceclienttest.Server, c *deviceclient.Client) (*deviceclient.Activation, *deviceclient.Device) {
	t.Helper()
	full := s.AddActivation(deviceclienttest.ActivationResponse{HOTPSecret: "0123456789abcdef0123456789abcdef",
		HOTPCounter: 3, CustomerName: "Example Corp", Username: "alice", UserID: "DU1"})
	code, err := deviceclient.ParseActivation(full)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Activate(context.Background(), code, testKey(t, 0), deviceclient.DeviceInfo{Model: "test", AppVersion: "1.0"})
	if err != nil {
		t.Fatalf("Activate() error = %v", err)
	}
	return a, c.Device(a.PKey, a.AKey, testKey(t, 0))
}

func TestActivate(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	a, _ := activate(t, s, c)
	want := deviceclient.Activation{PKey: a.PKey, AKey: a.AKey, HOTPSecret: "0123456789abcdef0123456789abcdef",
		HOTPCounter: 3, CustomerName: "Example Corp", Username: "alice", UserID: "DU1", APIHost: s.Host}
	if diff := cmp.Diff(want, *a); diff != "" {
		t.Errorf("Activate() mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(a.String(), a.HOTPSecret) {
		t.Errorf("Activation.String() reveals the HOTP secret: %s", a)
	}
	devs := s.Devices()
	if len(devs) != 1 {
		t.Fatalf("server has %d devices, want 1", len(devs))
	}
	if !devs[0].Pub.Equal(&testKey(t, 0).PublicKey) {
		t.Error("the server received a different public key")
	}
	for k, want := range map[string]string{"pkpush": "rsa-sha512", "platform": "twostep-cli", "model": "test", "app_version": "1.0"} {
		if got := devs[0].Params.Get(k); got != want {
			t.Errorf("activation parameter %s = %q, want %q", k, got, want)
		}
	}
}

func TestActivateUnknownOrUsedCode(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	full := s.AddActivation(deviceclienttest.ActivationResponse{})
	code, _ := deviceclient.ParseActivation(full)
	if _, err := c.Activate(context.Background(), code, testKey(t, 0), deviceclient.DeviceInfo{}); err != nil {
		t.Fatal(err)
	}
	for _, give := range []deviceclient.ActivationCode{code, {Code: "ZZZZZZZZZZZZZZZZZZZZ", Host: s.Host}} {
		_, err := c.Activate(context.Background(), give, testKey(t, 0), deviceclient.DeviceInfo{})
		var e *deviceclient.Error
		if !errors.As(err, &e) || e.Code != deviceclient.CodeUnknownActivation || e.Status != 404 {
			t.Errorf("Activate(%s) = %v, want 404/40403", give.Code, err)
		}
		if deviceclient.Temporary(err) {
			t.Errorf("Temporary(%v) = true, want false", err)
		}
	}
}

func TestTransactionsAndAnswer(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	ctx := context.Background()

	txs, err := d.Transactions(ctx, 0)
	if err != nil || len(txs) != 0 {
		t.Fatalf("Transactions() = %v, %v; want none", txs, err)
	}
	pushed := s.Push(s.Devices()[0].PKey, deviceclienttest.Tx{
		Summary: "Login request to VPN for alice", Application: "VPN", Username: "alice", IP: "198.51.100.7",
		Hostname: "vpn1", Time: 1795299940, PushInfo: [][]string{{"Server", "db1"}},
		Attributes: [][]string{{"Application", "VPN"}, {"Server", "db1"}},
	}, "")
	txs, err = d.Transactions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []deviceclient.Transaction{{
		URGID: pushed.URGID, TxID: pushed.URGID, Type: "Login request", Summary: "Login request to VPN for alice",
		Expiration: pushed.Expiration, Attributes: [][]string{{"Application", "VPN"}, {"Server", "db1"}},
		Application: "VPN", Username: "alice", IP: "198.51.100.7", Hostname: "vpn1", Time: 1795299940,
		PushInfo: [][]string{{"Server", "db1"}}, AKey: pushed.AKey,
	}}
	if diff := cmp.Diff(want, txs); diff != "" {
		t.Fatalf("Transactions() mismatch (-want +got):\n%s", diff)
	}
	if got := txs[0].StepUpDigits(); got != 0 {
		t.Errorf("StepUpDigits() = %d, want 0", got)
	}

	if err := d.Answer(ctx, txs[0].ID(), deviceclient.Answer{Approve: true}); err != nil {
		t.Fatalf("Answer(approve) error = %v", err)
	}
	err = d.Answer(ctx, txs[0].ID(), deviceclient.Answer{})
	var e *deviceclient.Error
	if !errors.As(err, &e) || e.Code != deviceclient.CodeBadRequest || !strings.Contains(e.Detail, "already answered") {
		t.Errorf("second Answer() = %v, want 40002 already answered", err)
	}
	if err := d.Answer(ctx, "no-such-tx", deviceclient.Answer{}); !errors.As(err, &e) || e.Code != deviceclient.CodeNotFound {
		t.Errorf("Answer(unknown) = %v, want 40401", err)
	}
	if err := d.Answer(ctx, "../x", deviceclient.Answer{}); err == nil {
		t.Error("Answer(../x) = nil, want a malformed id error")
	}
	if err := d.Answer(ctx, txs[0].ID(), deviceclient.Answer{Approve: true, Fraud: true}); !errors.Is(err, deviceclient.ErrFraudApproval) {
		t.Errorf("Answer(approve+fraud) = %v, want ErrFraudApproval", err)
	}

	// Every signed request carried Duo Mobile's common parameters and the
	// answer its txId header.
	for _, r := range s.Requests() {
		if r.PKey == "" {
			continue
		}
		if r.Params.Get("pkpush") != "rsa-sha512" || r.Params.Get("akey") == "" {
			t.Errorf("%s %s params = %v, want pkpush and akey", r.Method, r.Path, r.Params)
		}
		if r.Method == http.MethodPost && r.Header.Get("txId") != strings.TrimPrefix(r.Path, "/push/v2/device/transactions/") {
			t.Errorf("POST %s txId header = %q", r.Path, r.Header.Get("txId"))
		}
	}
}

func TestDenyAndFraud(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	pkey := s.Devices()[0].PKey
	tx1 := s.Push(pkey, deviceclienttest.Tx{}, "")
	tx2 := s.Push(pkey, deviceclienttest.Tx{}, "")
	ctx := context.Background()
	if err := d.Answer(ctx, tx1.URGID, deviceclient.Answer{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Answer(ctx, tx2.URGID, deviceclient.Answer{Fraud: true}); err != nil {
		t.Fatal(err)
	}
	want := []deviceclienttest.Answer{
		{PKey: pkey, URGID: tx1.URGID, Answer: "deny"},
		{PKey: pkey, URGID: tx2.URGID, Answer: "deny", Fraud: true},
	}
	if diff := cmp.Diff(want, s.Answers()); diff != "" {
		t.Errorf("answers mismatch (-want +got):\n%s", diff)
	}
}

func TestVerifiedPush(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	tx := s.Push(s.Devices()[0].PKey, deviceclienttest.Tx{}, "417")
	ctx := context.Background()
	txs, err := d.Transactions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := txs[0].StepUpDigits(); got != 3 {
		t.Errorf("StepUpDigits() = %d, want 3", got)
	}
	err = d.Answer(ctx, tx.URGID, deviceclient.Answer{Approve: true, StepUpCode: "999"})
	if !deviceclient.IsIncorrectCode(err) {
		t.Fatalf("Answer(wrong code) = %v, want IsIncorrectCode", err)
	}
	if err := d.Answer(ctx, tx.URGID, deviceclient.Answer{Approve: true, StepUpCode: "417"}); err != nil {
		t.Fatalf("Answer(right code) after a wrong one = %v", err)
	}
}

func TestSignatureChecked(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	a, _ := activate(t, s, c)
	tests := []struct {
		name string
		dev  *deviceclient.Device
		want int
	}{
		{"other key", c.Device(a.PKey, a.AKey, testKey(t, 1)), deviceclient.CodeBadSignature},
		{"unknown pkey", c.Device("DPUNKNOWN0000000000", a.AKey, testKey(t, 0)), deviceclient.CodeUnknownPKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.dev.Transactions(context.Background(), 0)
			var e *deviceclient.Error
			if !errors.As(err, &e) || e.Code != tt.want || e.Status != 401 {
				t.Errorf("Transactions() = %v, want 401/%d", err, tt.want)
			}
		})
	}
}

func TestDateWindow(t *testing.T) {
	serverNow := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		skew time.Duration
		ok   bool
	}{
		{0, true},
		{299 * time.Second, true},
		{-299 * time.Second, true},
		{301 * time.Second, false},
		{-301 * time.Second, false},
		{-2 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.skew.String(), func(t *testing.T) {
			s := deviceclienttest.New(t)
			s.SetNow(func() time.Time { return serverNow })
			clientNow := serverNow.Add(tt.skew)
			c := newClient(t, s, func() time.Time { return clientNow })
			_, d := activate(t, s, c)
			_, err := d.Transactions(context.Background(), 0)
			var e *deviceclient.Error
			switch {
			case tt.ok && err != nil:
				t.Errorf("Transactions() with clock skew %v = %v, want success", tt.skew, err)
			case !tt.ok && (!errors.As(err, &e) || e.Code != deviceclient.CodeBadDate):
				t.Errorf("Transactions() with clock skew %v = %v, want 40105", tt.skew, err)
			}
		})
	}
}

func TestRevoked(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	s.Revoke(s.Devices()[0].PKey)
	_, err := d.Transactions(context.Background(), 0)
	if !deviceclient.IsRevoked(err) || deviceclient.Temporary(err) {
		t.Errorf("Transactions() after revocation = %v, want IsRevoked and not Temporary", err)
	}
	if err := d.Answer(context.Background(), "abc", deviceclient.Answer{}); !deviceclient.IsRevoked(err) {
		t.Errorf("Answer() after revocation = %v, want IsRevoked", err)
	}
}

func TestDeregister(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	ctx := context.Background()
	if err := d.Deregister(ctx); err != nil {
		t.Fatalf("Deregister() = %v", err)
	}
	devs := s.Devices()
	if len(devs) != 1 || !devs[0].Revoked || !devs[0].Deregistered {
		t.Fatalf("server's install after Deregister() = %+v, want revoked by itself", devs)
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.Method != http.MethodDelete || last.Path != "/push/v2/device" || last.PKey != devs[0].PKey ||
		last.Params.Get("akey") != devs[0].AKey || last.Params.Get("pkpush") != "rsa-sha512" {
		t.Errorf("Deregister() sent %s %s as %q with %v, want a signed DELETE /push/v2/device with akey and pkpush",
			last.Method, last.Path, last.PKey, last.Params)
	}
	// Every later request, a second Deregister included, is refused.
	if err := d.Deregister(ctx); !deviceclient.IsRevoked(err) || deviceclient.Temporary(err) {
		t.Errorf("second Deregister() = %v, want IsRevoked and not Temporary", err)
	}
	if _, err := d.Transactions(ctx, 0); !deviceclient.IsRevoked(err) {
		t.Errorf("Transactions() after Deregister() = %v, want IsRevoked", err)
	}

	// An install the server no longer knows is 40102.
	_, d2 := activate(t, s, c)
	for _, dev := range s.Devices() {
		if !dev.Revoked {
			s.Forget(dev.PKey)
		}
	}
	var e *deviceclient.Error
	if err := d2.Deregister(ctx); !errors.As(err, &e) || e.Code != deviceclient.CodeUnknownPKey || deviceclient.Temporary(err) {
		t.Errorf("Deregister() of a forgotten install = %v, want 40102, not Temporary", err)
	}
}

func TestLongPollWakesOnPush(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	pkey := s.Devices()[0].PKey
	type result struct {
		txs []deviceclient.Transaction
		err error
	}
	done := make(chan result, 1)
	go func() {
		txs, err := d.Transactions(context.Background(), 25*time.Second)
		done <- result{txs, err}
	}()
	select {
	case <-s.Polling():
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll never reached the server")
	}
	tx := s.Push(pkey, deviceclienttest.Tx{Application: "SSH"}, "")
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not return after a push")
	}
	if r.err != nil || len(r.txs) != 1 || r.txs[0].ID() != tx.URGID {
		t.Errorf("Transactions(wait) = %v, %v; want the pushed request", r.txs, r.err)
	}
	if got := s.Requests()[len(s.Requests())-1].Params.Get("wait"); got != "25" {
		t.Errorf("wait parameter = %q, want 25", got)
	}
}

func TestLongPollHonoursCancel(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := d.Transactions(ctx, 25*time.Second)
		done <- err
	}()
	<-s.Polling()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || deviceclient.Temporary(err) {
			t.Errorf("Transactions() after cancel = %v, want context.Canceled, not Temporary", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll ignored cancellation")
	}
}

func TestTemporaryFailures(t *testing.T) {
	s := deviceclienttest.New(t)
	c := newClient(t, s, nil)
	_, d := activate(t, s, c)
	// A dropped connection is dropped twice: Go's transport retries an
	// idempotent request once when a reused connection fails.
	s.FailNextLists(503, 429, 0, 0)
	for i, name := range []string{"503", "429", "dropped connection"} {
		_, err := d.Transactions(context.Background(), 0)
		if err == nil || !deviceclient.Temporary(err) {
			t.Errorf("failure %d (%s): Transactions() = %v, want a temporary error", i, name, err)
		}
	}
	if _, err := d.Transactions(context.Background(), 0); err != nil {
		t.Errorf("Transactions() after the failures = %v", err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	s := deviceclienttest.New(t)
	c, err := deviceclient.New(deviceclient.Config{Host: s.Host}) // system roots only
	if err != nil {
		t.Fatal(err)
	}
	code, _ := deviceclient.ParseActivation(s.AddActivation(deviceclienttest.ActivationResponse{}))
	_, err = c.Activate(context.Background(), code, testKey(t, 0), deviceclient.DeviceInfo{})
	if !deviceclient.IsCertificateError(err) || deviceclient.Temporary(err) {
		t.Errorf("Activate() against an untrusted CA = %v, want a certificate error, not temporary", err)
	}
}

// roundTripper answers every request with an OK envelope and keeps it.
type roundTripper struct {
	req  *http.Request
	body string
}

func (rt *roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.req = r
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		rt.body = string(b)
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"stat":"OK","response":{"transactions":[],"result":"SUCCESS"}}`))}, nil
}

// TestSignatureVector pins the canonical string and signature format of
// docs/device-api.md independently of the fake.
func TestSignatureVector(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	rt := &roundTripper{}
	c, err := deviceclient.New(deviceclient.Config{Host: "2FA.Example.com:8443", Transport: rt, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	key := testKey(t, 0)
	d := c.Device("DPXXXXXXXXXXXXXXXXXX", "DAYYYYYYYYYYYYYYYYYY", key)
	tests := []struct {
		name  string
		call  func() error
		canon string
	}{
		{
			"list",
			func() error { _, err := d.Transactions(context.Background(), 25*time.Second); return err },
			"Sat, 21 Nov 2026 10:00:00 +0000\nGET\n2fa.example.com:8443\n/push/v2/device/transactions\n" +
				"akey=DAYYYYYYYYYYYYYYYYYY&pkpush=rsa-sha512&wait=25",
		},
		{
			"answer",
			func() error {
				return d.Answer(context.Background(), "5ac6ec7f-aaaa", deviceclient.Answer{Fraud: true})
			},
			"Sat, 21 Nov 2026 10:00:00 +0000\nPOST\n2fa.example.com:8443\n/push/v2/device/transactions/5ac6ec7f-aaaa\n" +
				"akey=DAYYYYYYYYYYYYYYYYYY&answer=deny&fraud=true&pkpush=rsa-sha512",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if got := rt.req.Header.Get("X-Duo-Date"); got != "Sat, 21 Nov 2026 10:00:00 +0000" {
				t.Errorf("X-Duo-Date = %q", got)
			}
			auth, ok := strings.CutPrefix(rt.req.Header.Get("Authorization"), "Basic ")
			raw, _ := base64.StdEncoding.DecodeString(auth)
			pkey, sig64, _ := strings.Cut(string(raw), ":")
			if !ok || pkey != "DPXXXXXXXXXXXXXXXXXX" {
				t.Fatalf("Authorization = %q, want Basic base64(pkey:sig)", rt.req.Header.Get("Authorization"))
			}
			sig, err := base64.StdEncoding.DecodeString(sig64)
			if err != nil {
				t.Fatalf("signature is not base64: %v", err)
			}
			sum := sha512.Sum512([]byte(tt.canon))
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA512, sum[:], sig); err != nil {
				t.Errorf("signature does not verify over\n%s", tt.canon)
			}
			if rt.req.Method == http.MethodPost && rt.req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", rt.req.Header.Get("Content-Type"))
			}
		})
	}
}

func TestKeyRoundTrip(t *testing.T) {
	key := testKey(t, 0)
	text, err := deviceclient.MarshalKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("MarshalKey() is not PKCS #8 PEM: %.40s", text)
	}
	got, err := deviceclient.ParseKey(text)
	if err != nil || !got.Equal(key) {
		t.Errorf("ParseKey(MarshalKey()) = %v, want the same key", err)
	}
	for _, bad := range []string{"", "garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := deviceclient.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) = nil error", bad)
		}
	}
}
