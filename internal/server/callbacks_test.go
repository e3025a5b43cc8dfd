package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	duoapi "github.com/duosecurity/duo_api_golang"
	"github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/certs/certstest"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/notify/twilio"
	"github.com/twostep-auth/twostep/internal/notify/webhook"
	"github.com/twostep-auth/twostep/internal/server"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

const (
	cbPublic  = "https://twostep.example.com"
	cbToken   = "twilio-auth-token-0123456789"
	cbSecret  = "webhook-secret-0123456789"
	cbAccount = "AC00000000000000000000000000000001"
)

// lockedBuf is a log sink tests can read while the server writes.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// callFixture is the real server (Auth API + carrier callbacks) over TLS
// with the Twilio carrier pointed at a local fake Twilio that records the
// calls it is asked to place.
type callFixture struct {
	t     *testing.T
	st    *sqlstore.Store
	srv   *httptest.Server
	duo   *authapi.AuthApi
	logs  *lockedBuf
	mu    sync.Mutex
	calls []url.Values // Calls.json forms the fake Twilio got
}

func newCallFixture(t *testing.T) *callFixture {
	t.Helper()
	f := &callFixture{t: t, logs: &lockedBuf{}}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != cbAccount || p != cbToken ||
			r.URL.Path != "/2010-04-01/Accounts/"+cbAccount+"/Calls.json" {
			w.WriteHeader(401)
			return
		}
		r.ParseForm()
		f.mu.Lock()
		f.calls = append(f.calls, r.PostForm)
		f.mu.Unlock()
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"sid":"CA%032d","status":"queued"}`, len(f.calls))
	}))
	t.Cleanup(fake.Close)
	f.st = sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	tw, err := twilio.New(twilio.Config{BaseURL: fake.URL, AccountSID: cbAccount, AuthToken: cbToken,
		From: "+15005550006", CallbackURL: cbPublic})
	if err != nil {
		t.Fatal(err)
	}
	flow := authflow.New(f.st, time.Now, rand.Reader, log, authflow.WithNotifier(tw), authflow.WithRecheck(20*time.Millisecond))
	h := server.New(server.Deps{Store: f.st, Logger: log, Now: time.Now, Flow: flow,
		Callbacks: server.Callbacks{PublicURL: cbPublic, TwilioAuthToken: cbToken, WebhookSecret: cbSecret}})
	ts := certstest.StartTLS(t, h)
	f.srv = ts.Server
	ctx := t.Context()
	ikey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	skey := strings.Repeat("s", 40)
	if err := f.st.CreateIntegration(ctx, mfa.Integration{IKey: ikey, SKey: mfa.Secret(skey), Name: "vpn",
		Type: mfa.IntegrationAuthAPI, EnrollPolicy: mfa.EnrollPolicyEnroll, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	uid, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	pid, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
	if err := f.st.CreateUser(ctx, mfa.User{ID: uid, Username: "lena", Status: mfa.StatusActive, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreatePhone(ctx, mfa.Phone{ID: pid, Number: "+15555550142", Extension: "4711", Type: mfa.PhoneLandline, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.AttachPhone(ctx, uid, pid); err != nil {
		t.Fatal(err)
	}
	api := duoapi.NewDuoApi(ikey, skey, ts.Host, "twostep-test", duoapi.SetTimeout(10*time.Second),
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = ts.Pool }))
	f.duo = authapi.NewAuthApi(*api)
	return f
}

// call starts a phone login and returns its txid and the <Gather> action.
func (f *callFixture) call(ip string) (txid, action string) {
	f.t.Helper()
	res, err := f.duo.Auth("phone", authapi.AuthUsername("lena"), authapi.AuthDevice("auto"), authapi.AuthAsync(), authapi.AuthIpAddr(ip))
	if err != nil || res.Stat != "OK" || res.Response.Txid == "" {
		f.t.Fatalf("Auth(phone) = %+v, %v", res, err)
	}
	f.mu.Lock()
	form := f.calls[len(f.calls)-1]
	f.mu.Unlock()
	var tw struct {
		Gather struct {
			Action string `xml:"action,attr"`
		} `xml:"Gather"`
	}
	if err := xml.Unmarshal([]byte(form.Get("Twiml")), &tw); err != nil {
		f.t.Fatal(err)
	}
	if form.Get("SendDigits") != "4711" || form.Get("To") != "+15555550142" {
		f.t.Errorf("Calls.json form = %v", form)
	}
	return res.Response.Txid, tw.Gather.Action
}

// twilioPost posts form to the public URL full as Twilio would, signed
// with token ("" = no signature header).
func (f *callFixture) twilioPost(full string, form url.Values, token string) (int, string) {
	f.t.Helper()
	path := strings.TrimPrefix(full, cbPublic)
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("X-Twilio-Signature", twilio.Signature(token, full, form))
	}
	return f.do(req)
}

func (f *callFixture) do(req *http.Request) (int, string) {
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *callFixture) final(txid string) *authapi.AuthStatusResult {
	f.t.Helper()
	for range 50 {
		st, err := f.duo.AuthStatus(txid)
		if err != nil || st.Stat != "OK" {
			f.t.Fatalf("AuthStatus = %+v, %v", st, err)
		}
		if st.Response.Result != "waiting" {
			return st
		}
	}
	f.t.Fatalf("AuthStatus(%s) still waiting", txid)
	return nil
}

func (f *callFixture) reason(txid string) string {
	f.t.Helper()
	logs, _, err := f.st.ListAuthLog(f.t.Context(), mfa.AuthLogFilter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, l := range logs {
		if l.TxID == txid {
			out = append(out, l.Factor+"/"+string(l.Result)+"/"+l.Reason)
		}
	}
	return strings.Join(out, ",")
}

// TestTwilioCallFlow: a landline login through the Auth API, the call
// placed at a fake Twilio, and Twilio's signed callbacks ending it: key 1,
// key 9, no key (the Gather times out), the call not answered (status
// callback no-answer) and hung up (status completed before any key).
func TestTwilioCallFlow(t *testing.T) {
	f := newCallFixture(t)
	tests := []struct {
		name       string
		gather     url.Values // posted to the Gather action; nil: a status callback instead
		status     string
		wantResult string
		wantStatus string
		wantLog    string
		wantSay    string
	}{
		{"key 1", url.Values{"Digits": {"1"}}, "", "allow", "allow", "phone_call/success/user_approved", "approved"},
		{"key 9", url.Values{"Digits": {"9"}}, "", "deny", "fraud", "phone_call/fraud/user_marked_fraud", "fraud"},
		{"no key", url.Values{"Digits": {""}}, "", "deny", "deny", "phone_call/failure/no_keys_pressed", "denied"},
		{"no answer", nil, "no-answer", "deny", "timeout", "phone_call/failure/no_response", ""},
		{"hang-up", nil, "completed", "deny", "deny", "phone_call/failure/no_keys_pressed", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txid, action := f.call(fmt.Sprintf("198.51.100.%d", 10+i))
			if action != cbPublic+"/notify/twilio/gather/"+txid {
				t.Fatalf("Gather action = %s", action)
			}
			callSid := fmt.Sprintf("CA%032d", i+1)
			if tt.gather != nil {
				form := url.Values{"CallSid": {callSid}, "AccountSid": {cbAccount}, "CallStatus": {"in-progress"}}
				for k, v := range tt.gather {
					form[k] = v
				}
				code, body := f.twilioPost(action, form, cbToken)
				if code != 200 || !strings.Contains(body, "<Hangup/>") || !strings.Contains(body, tt.wantSay) {
					t.Errorf("Gather callback = %d %s, want TwiML saying %q", code, body, tt.wantSay)
				}
				// Then Twilio reports the call completed: the answer stands.
				code, _ = f.twilioPost(cbPublic+"/notify/twilio/status?kind=call&txid="+url.QueryEscape(txid),
					url.Values{"CallSid": {callSid}, "CallStatus": {"completed"}}, cbToken)
				if code != 204 {
					t.Errorf("status callback after the answer = %d", code)
				}
			} else {
				code, _ := f.twilioPost(cbPublic+"/notify/twilio/status?kind=call&txid="+url.QueryEscape(txid),
					url.Values{"CallSid": {callSid}, "CallStatus": {tt.status}}, cbToken)
				if code != 204 {
					t.Errorf("status callback = %d", code)
				}
			}
			st := f.final(txid)
			if st.Response.Result != tt.wantResult || st.Response.Status != tt.wantStatus {
				t.Errorf("AuthStatus = %s/%s %q, want %s/%s", st.Response.Result, st.Response.Status, st.Response.Status_Msg, tt.wantResult, tt.wantStatus)
			}
			if got := f.reason(txid); got != tt.wantLog {
				t.Errorf("auth log = %q, want exactly one record %q", got, tt.wantLog)
			}
		})
	}
}

// TestCallbackAttacks: forged, replayed, oversized and malformed
// callbacks are refused (and logged) and change nothing.
func TestCallbackAttacks(t *testing.T) {
	f := newCallFixture(t)
	txid, action := f.call("198.51.100.50")
	one := url.Values{"CallSid": {"CA1"}, "Digits": {"1"}}
	check := func(name string, code int, wantCode int) {
		t.Helper()
		if code != wantCode {
			t.Errorf("%s = %d, want %d", name, code, wantCode)
		}
	}
	code, _ := f.twilioPost(action, one, "")
	check("unsigned", code, 403)
	code, _ = f.twilioPost(action, one, "the-wrong-token-0123")
	check("forged (other token)", code, 403)
	// Signed for another URL (another transaction): the path is signed.
	other := strings.TrimSuffix(action, txid) + "TXother"
	req, _ := http.NewRequest("POST", f.srv.URL+strings.TrimPrefix(action, cbPublic), strings.NewReader(one.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(cbToken, other, one))
	code, _ = f.do(req)
	check("signature of another URL", code, 403)
	// Tampered: signed Digits=9, sent Digits=1.
	req, _ = http.NewRequest("POST", f.srv.URL+strings.TrimPrefix(action, cbPublic), strings.NewReader(one.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(cbToken, action, url.Values{"CallSid": {"CA1"}, "Digits": {"9"}}))
	code, _ = f.do(req)
	check("tampered digits", code, 403)
	// Oversized.
	big := url.Values{"CallSid": {"CA1"}, "Digits": {"1"}, "Pad": {strings.Repeat("x", 20<<10)}}
	code, _ = f.twilioPost(action, big, cbToken)
	check("oversized", code, 413)
	// Wrong content type.
	req, _ = http.NewRequest("POST", f.srv.URL+strings.TrimPrefix(action, cbPublic), strings.NewReader(`{"Digits":"1"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(cbToken, action, nil))
	code, _ = f.do(req)
	check("JSON body", code, 403)
	// GET is not a callback.
	req, _ = http.NewRequest("GET", f.srv.URL+strings.TrimPrefix(action, cbPublic), nil)
	code, _ = f.do(req)
	if code == 200 || code == 204 {
		t.Errorf("GET gather = %d", code)
	}
	if st, _ := f.duo.AuthStatus(txid); st == nil || st.Response.Result != "waiting" {
		t.Fatalf("after refused callbacks the call = %+v, want still waiting", st)
	}
	// The genuine callback works once; the same request again is a replay.
	code, _ = f.twilioPost(action, url.Values{"CallSid": {"CA1"}, "Digits": {"9"}}, cbToken)
	check("genuine", code, 200)
	code, _ = f.twilioPost(action, url.Values{"CallSid": {"CA1"}, "Digits": {"9"}}, cbToken)
	check("replayed", code, 403)
	if st := f.final(txid); st.Response.Status != "fraud" {
		t.Errorf("call after genuine key 9 = %+v", st.Response)
	}
	for _, want := range []string{"X-Twilio-Signature missing or wrong", "replayed", "carrier callback refused"} {
		if !strings.Contains(f.logs.String(), want) {
			t.Errorf("log does not mention %q", want)
		}
	}

	// The webhook carrier's keypress callback.
	txid2, _ := f.call("198.51.100.51")
	post := func(body string, ts int64, sign string) (int, string) {
		req, _ := http.NewRequest("POST", f.srv.URL+webhook.KeypressPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.TimestampHeader, strconv.FormatInt(ts, 10))
		if sign != "" {
			req.Header.Set(webhook.SignatureHeader, webhook.Sign(sign, ts, []byte(body)))
		}
		return f.do(req)
	}
	body, _ := json.Marshal(webhook.Keypress{CallID: txid2, Key: "1"})
	now := time.Now().Unix()
	code, _ = post(string(body), now, "")
	check("webhook unsigned", code, 403)
	code, _ = post(string(body), now, "another-secret-0123456")
	check("webhook forged", code, 403)
	code, _ = post(string(body), now-3600, cbSecret)
	check("webhook stale", code, 403)
	code, _ = post(`{"call_id":"`+txid2+`","key":"1","extra":1}`, now, cbSecret)
	check("webhook unknown field", code, 400)
	code, _ = post(`{"call_id":"`+txid2+`","key":"1","status":"hangup"}`, now, cbSecret)
	check("webhook key and status", code, 400)
	code, _ = post(`{"call_id":"nosuchcall","key":"1"}`, now, cbSecret)
	check("webhook unknown call", code, 404)
	code, _ = post(strings.Repeat(" ", 20<<10)+string(body), now, cbSecret)
	check("webhook oversized", code, 413)
	code, _ = post(string(body), now, cbSecret)
	check("webhook genuine", code, 200)
	code, _ = post(string(body), now, cbSecret)
	check("webhook replayed", code, 403)
	if st := f.final(txid2); st.Response.Result != "allow" {
		t.Errorf("call after webhook key 1 = %+v", st.Response)
	}
	if got := f.reason(txid2); got != "phone_call/success/user_approved" {
		t.Errorf("auth log = %q", got)
	}
}
