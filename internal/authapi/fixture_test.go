package authapi_test

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	duoauth "github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authapi"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// fixture is the real Auth API handler and authflow service over real TLS
// on a fresh SQLite store, with one Auth API integration.
type fixture struct {
	t     *testing.T
	Store *sqlstore.Store
	srv   *httptest.Server
	pool  *x509.CertPool
	Host  string
	Key   mfa.Integration
	Notes *mfatest.Notifier // the SMS the flow sent
	Flow  *authflow.Service
}

// newFixture starts the fixture; opts apply to the authflow service after
// the fixture's own.
func newFixture(t *testing.T, opts ...authflow.Option) *fixture {
	t.Helper()
	return newFixtureWrapped(t, nil, opts...)
}

// newFixtureWrapped is newFixture with the flow's store wrapped by wrap
// (nil: none), for tests that record or hold store calls.
func newFixtureWrapped(t *testing.T, wrap func(*sqlstore.Store) mfa.Store, opts ...authflow.Option) *fixture {
	t.Helper()
	st := sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	var flowStore mfa.Store = st
	if wrap != nil {
		flowStore = wrap(st)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	notes := &mfatest.Notifier{}
	flow := authflow.New(flowStore, time.Now, rand.Reader, log, append([]authflow.Option{authflow.WithNotifier(notes),
		authflow.WithRecheck(100 * time.Millisecond)}, opts...)...)
	surface := &api.Surface{Store: st, Now: time.Now, Logger: log}
	mux := http.NewServeMux()
	authapi.New(authapi.Deps{Surface: surface, Now: time.Now, Flow: flow}).Register(mux)

	ts := certstest.StartTLS(t, mux)
	srv, pool := ts.Server, ts.Pool
	f := &fixture{t: t, Store: st, srv: srv, pool: pool, Notes: notes, Flow: flow,
		Host: ts.Host}
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey, _ := mfa.RandomString(rand.Reader, "abcdefghijklmnopqrstuvwxyz0123456789", 40)
	f.Key = mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "vpn", Type: mfa.IntegrationAuthAPI,
		EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}
	if err := st.CreateIntegration(t.Context(), f.Key); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) duoAPI() *duoapi.DuoApi {
	return duoapi.NewDuoApi(f.Key.IKey, string(f.Key.SKey.Reveal()), f.Host, "twostep-test",
		duoapi.SetTimeout(10*time.Second),
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = f.pool }))
}

// Duo is Duo's own Auth API client.
func (f *fixture) Duo() *duoauth.AuthApi { return duoauth.NewAuthApi(*f.duoAPI()) }

// envelope is Duo's response envelope.
type envelope struct {
	Status        int
	Stat          string          `json:"stat"`
	Code          int             `json:"code"`
	Message       string          `json:"message"`
	MessageDetail string          `json:"message_detail"`
	Response      json.RawMessage `json:"response"`
}

// Call makes a signed call with Duo's client and decodes the envelope.
func (f *fixture) Call(method, path string, params url.Values) envelope {
	f.t.Helper()
	resp, body, err := f.duoAPI().SignedCall(method, path, params)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		f.t.Fatalf("%s %s: %q is not a Duo envelope", method, path, body)
	}
	e.Status = resp.StatusCode
	return e
}

func (f *fixture) user(name string, status mfa.UserStatus) mfa.User {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	u := mfa.User{ID: id, Username: name, Status: status, Created: time.Now()}
	if err := f.Store.CreateUser(f.t.Context(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// app gives u a mobile phone with an activated authenticator on secret.
func (f *fixture) app(u mfa.User, secret []byte, totp bool) mfa.Phone {
	f.t.Helper()
	pid, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
	p := mfa.Phone{ID: pid, Number: "+15555550100", Name: "Alice's phone", Type: mfa.PhoneMobile, Created: time.Now()}
	ctx := f.t.Context()
	if err := f.Store.CreatePhone(ctx, p); err != nil {
		f.t.Fatal(err)
	}
	if err := f.Store.AttachPhone(ctx, u.ID, p.ID); err != nil {
		f.t.Fatal(err)
	}
	aid, _ := mfa.NewID(mfa.PrefixAuthenticator, rand.Reader)
	err := f.Store.ActivateAuthenticator(ctx, mfa.Authenticator{ID: aid, PhoneID: p.ID, UserID: u.ID,
		Status: mfa.AuthenticatorActive, PublicKey: mfa.Secret("pem"), HOTPSecret: secret, TOTP: totp, Created: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// token gives u an HOTP hardware token with the given serial.
func (f *fixture) token(u mfa.User, serial string) mfa.Token {
	f.t.Helper()
	id, _ := mfa.NewID(mfa.PrefixToken, rand.Reader)
	tok := mfa.Token{ID: id, Type: mfa.TokenH6, Serial: serial, Secret: mfa.Secret("12345678901234567890"), Created: time.Now()}
	if err := f.Store.CreateToken(f.t.Context(), tok); err != nil {
		f.t.Fatal(err)
	}
	if err := f.Store.AttachToken(f.t.Context(), u.ID, tok.ID); err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// oathtool computes a code with the oathtool program, independently of our
// otp package. It skips the test when oathtool is absent (fails under CI).
func oathtool(t *testing.T, secret []byte, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("oathtool not installed")
		}
		t.Skip("oathtool not installed (apt-get install oathtool); skipping tests that need independent codes")
	}
	out, err := exec.Command(path, append(args, hex.EncodeToString(secret))...).Output()
	if err != nil {
		t.Fatalf("oathtool %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

func hotp(t *testing.T, secret []byte, counter int) string {
	return oathtool(t, secret, "--hotp", "-d", "6", "-c", strconv.Itoa(counter))
}

func totp(t *testing.T, secret []byte, at time.Time) string {
	return oathtool(t, secret, "--totp", "-d", "6", "-N", "@"+strconv.FormatInt(at.Unix(), 10))
}
