package authapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/authapi"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// legacyFuzzRoutes are the /rest/v1 routes duo_unix calls, in both
// formats.
var legacyFuzzRoutes = []struct{ method, path string }{
	{http.MethodPost, "/rest/v1/preauth.bson"},
	{http.MethodPost, "/rest/v1/auth.bson"},
	{http.MethodGet, "/rest/v1/status.bson"},
	{http.MethodPost, "/rest/v1/preauth.json"},
	{http.MethodPost, "/rest/v1/auth.json"},
	{http.MethodGet, "/rest/v1/status.json"},
}

// legacyFuzzServer is the real Auth API handler (legacy routes included)
// over the real authflow service on a SQLite store, with a duo_unix
// integration and users of every status. The attempt limiters are off, so
// that the fuzzer reaches the passcode checks rather than 429.
type legacyFuzzServer struct {
	mux  *http.ServeMux
	key  mfa.Integration
	txid string
}

func newLegacyFuzzServer(tb testing.TB) *legacyFuzzServer {
	tb.Helper()
	st := sqltest.NewStore(tb, sqltest.SQLitePath(tb))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	flow := authflow.New(st, time.Now, rand.Reader, log, authflow.WithNotifier(&mfatest.Notifier{}),
		authflow.WithLimits(authflow.Limit{}, authflow.Limit{}))
	mux := http.NewServeMux()
	authapi.New(authapi.Deps{Surface: &api.Surface{Store: st, Now: time.Now, Logger: log}, Now: time.Now,
		Flow: flow}).Register(mux)

	ctx := tb.Context()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	s := &legacyFuzzServer{mux: mux}
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	s.key = mfa.Integration{IKey: ikey, SKey: mfa.Secret(strings.Repeat("s", 40)), Name: "ssh", Type: mfa.IntegrationUnix,
		EnrollPolicy: mfa.EnrollPolicyEnroll, AllowV1Signatures: true, Created: time.Now()}
	must(st.CreateIntegration(ctx, s.key))

	for _, u := range []struct {
		name   string
		status mfa.UserStatus
		token  bool
		phone  bool
	}{
		{"alice", mfa.StatusActive, true, true},
		{"bob", mfa.StatusBypass, false, false},
		{"dave", mfa.StatusDisabled, true, false},
		{"eve", mfa.StatusActive, false, false}, // not enrolled
		{"frank", mfa.StatusActive, false, true},
	} {
		uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
		must(st.CreateUser(ctx, mfa.User{ID: uid, Username: u.name, Status: u.status, Created: time.Now()}))
		if u.token {
			tid, _ := mfa.NewID(mfa.PrefixToken, rand.Reader)
			must(st.CreateToken(ctx, mfa.Token{ID: tid, Type: mfa.TokenH6, Serial: "FUZZ-" + u.name,
				Secret: mfa.Secret("12345678901234567890"), Created: time.Now()}))
			must(st.AttachToken(ctx, uid, tid))
		}
		if u.phone {
			pid, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
			must(st.CreatePhone(ctx, mfa.Phone{ID: pid, Number: "+15555550100", Name: u.name + "'s phone",
				Type: mfa.PhoneMobile, Created: time.Now()}))
			must(st.AttachPhone(ctx, uid, pid))
		}
	}
	b := make([]byte, 16)
	rand.Read(b)
	s.txid = hex.EncodeToString(b)
	now := time.Now()
	must(st.CreateTransaction(ctx, mfa.Transaction{ID: s.txid, IKey: ikey, Factor: mfa.FactorPasscode, State: mfa.TxAllow,
		Status: authflow.StatusAllow, StatusMsg: authflow.MsgSuccess, DisplayUsername: "alice",
		Created: now, Expires: now.Add(24 * time.Hour), Answered: now}))
	return s
}

// FuzzLegacy feeds the legacy /rest/v1 handlers arbitrary parameters,
// signed the ways clients sign (v1 HMAC-SHA1 as duo_unix 1.11.3, v2, v5
// with a JSON body) or not at all. Whatever comes in, the answer is never
// a 5xx and never a panic, and it is a well-formed Duo envelope in the
// format the path asks for: BSON of the types duo_unix checks (stat
// string, response document, code int32, message string) or JSON.
func FuzzLegacy(f *testing.F) {
	seeds := []struct {
		route, mode uint8
		query, body string
	}{
		{0, 0, "", "user=alice&ipaddr=1.2.3.4&hostname=host&failmode=closed"},
		{1, 0, "", "user=alice&factor=auto&auto=755224&async=1&ipaddr=1.2.3.4&hostname=h&pushinfo=Server%2BIP%3D1.2.3.4"},
		{1, 0, "", "user=alice&factor=auto&auto=1&async=0"},
		{1, 0, "", "user=frank&factor=auto&auto=sms1&async=1"},
		{1, 0, "", "user=alice&factor=passcode&passcode=000000"},
		{1, 0, "", "user=alice&factor=auto&auto=push1"},
		{1, 0, "", "user=alice&factor=auto&auto=" + strings.Repeat("9", 500)},
		{1, 0, "", "user=bob&factor=auto&auto=123456"},
		{1, 0, "", "user=dave&factor=sms&async=1"},
		{1, 0, "", "user=nobody&factor=auto&auto=123456"},
		{1, 0, "", "username=eve&factor=phone"},
		{1, 0, "", "user=&factor=bogus"},
		{2, 0, "txid=00000000-0000-4000-8000-000000000000", ""},
		{2, 0, "txid={txid}", ""},
		{5, 1, "txid={txid}", ""},
		{2, 0, "txid=", ""},
		{2, 1, "txid=%ff", ""},
		{3, 1, "", "user=alice%00&hostname=\xff"},
		{4, 2, "", `{"user":"alice","factor":"auto","auto":["755224","1"],"async":true}`},
		{4, 2, "", `{"user":{"a":1}}`},
		{0, 2, "", `[`},
		{0, 3, "", "user=alice"},
		{1, 4, "factor=auto", "user=alice&auto=287082"},
		{5, 0, "txid=x&txid=y", ""},
		{0, 0, "", "user=a%zz"},
		{0, 0, "", "user=" + strings.Repeat("\x01", 64) + "&user=alice"},
	}
	for _, s := range seeds {
		f.Add(s.route, s.mode, s.query, s.body)
	}
	srv := newLegacyFuzzServer(f)
	f.Fuzz(func(t *testing.T, route, mode uint8, query, body string) {
		rt := legacyFuzzRoutes[int(route)%len(legacyFuzzRoutes)]
		query = strings.ReplaceAll(query, "{txid}", srv.txid) // the seeded completed transaction
		req := httptest.NewRequest(rt.method, "https://localhost"+rt.path, nil)
		req.URL.RawQuery = query
		req.Host = "localhost"
		skey := string(srv.key.SKey.Reveal())
		var err error
		switch mode % 5 {
		case 0, 4: // duo_unix 1.11.3: v1, HMAC-SHA1, form
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			err = duoproto.SignRequest(req, srv.key.IKey, skey, 1, []byte(body), duoproto.WithSHA1())
		case 1: // v2, HMAC-SHA512, form
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			err = duoproto.SignRequest(req, srv.key.IKey, skey, 2, []byte(body))
		case 2: // v5, JSON body
			req.Header.Set("Content-Type", "application/json")
			err = duoproto.SignRequest(req, srv.key.IKey, skey, 5, []byte(body))
		case 3:
			err = io.EOF // unsigned
		}
		if err != nil {
			// The client could not sign it (a malformed form): send it
			// with a signature that cannot match.
			req.Body = io.NopCloser(strings.NewReader(body))
			req.ContentLength = int64(len(body))
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(srv.key.IKey+":"+strings.Repeat("0", 40))))
		}
		// A synchronous push or call waits for the user; a client that
		// gives up is not an answer to judge.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		srv.mux.ServeHTTP(rec, req.WithContext(ctx))
		if ctx.Err() != nil {
			t.Skipf("%s %s still waiting after 5s", rt.method, rt.path)
		}
		checkLegacyAnswer(t, rt.path, rec)
	})
}

// checkLegacyAnswer checks one answer as duo_unix (BSON) or a JSON client
// would read it.
func checkLegacyAnswer(t *testing.T, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 || rec.Code < 200 {
		t.Fatalf("%s answered %d %q", path, rec.Code, body)
	}
	if strings.HasSuffix(path, ".bson") {
		if ct := rec.Header().Get("Content-Type"); ct != duoproto.ContentTypeBSON {
			t.Fatalf("%s answered %d with Content-Type %q: %q", path, rec.Code, ct, body)
		}
		raw := bson.Raw(body)
		if err := raw.Validate(); err != nil {
			t.Fatalf("%s answered invalid BSON %q: %v", path, body, err)
		}
		stat, ok := raw.Lookup("stat").StringValueOK()
		switch {
		case !ok:
			t.Fatalf("%s: stat is not a string: %v", path, raw)
		case rec.Code == http.StatusOK:
			if _, ok := raw.Lookup("response").DocumentOK(); stat != "OK" || !ok {
				t.Fatalf("%s: 200 with %v, want stat OK and a response document", path, raw)
			}
		default:
			c, ok := raw.Lookup("code").Int32OK()
			if _, mok := raw.Lookup("message").StringValueOK(); stat != "FAIL" || !ok || !mok || int(c)/100 != rec.Code {
				t.Fatalf("%s: %d with %v, want stat FAIL, int32 code %dxx and a message", path, rec.Code, raw, rec.Code)
			}
		}
		return
	}
	var env struct {
		Stat     string          `json:"stat"`
		Code     *int            `json:"code"`
		Message  *string         `json:"message"`
		Response json.RawMessage `json:"response"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("%s answered %d with non-JSON %q", path, rec.Code, body)
	}
	switch {
	case rec.Code == http.StatusOK:
		if env.Stat != "OK" || len(env.Response) == 0 || env.Response[0] != '{' {
			t.Fatalf("%s: 200 with %q, want stat OK and a response object", path, body)
		}
	case env.Stat != "FAIL" || env.Code == nil || env.Message == nil || *env.Code/100 != rec.Code:
		t.Fatalf("%s: %d with %q, want a FAIL envelope", path, rec.Code, body)
	}
}
