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
	duoadmin "github.com/duosecurity/duo_api_golang/admin"
	"github.com/duosecurity/duo_api_golang/authapi"
	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/admin"
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

// callFixture is the real server (Auth API, Admin API and carrier
// callbacks) over TLS with the Twilio carrier pointed at a local fake
// Twilio that records the calls and texts it is asked to send (or, with
// the webhook carrier, at a local operator endpoint).
type callFixture struct {
	t        *testing.T
	st       *sqlstore.Store
	srv      *httptest.Server
	duo      *authapi.AuthApi
	admin    *duoadmin.Client
	logs     *lockedBuf
	mu       sync.Mutex
	calls    []url.Values // Calls.json forms the fake Twilio got
	messages []url.Values // Messages.json forms
	payloads []webhook.Payload
}

func newCallFixture(t *testing.T) *callFixture { return newCarrierFixture(t, "twilio") }

// newCarrierFixture is a callFixture whose carrier is "twilio" or
// "webhook".
func newCarrierFixture(t *testing.T, carrier string) *callFixture {
	t.Helper()
	f := &callFixture{t: t, logs: &lockedBuf{}}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := "/2010-04-01/Accounts/" + cbAccount
		if u, p, ok := r.BasicAuth(); !ok || u != cbAccount || p != cbToken ||
			(r.URL.Path != prefix+"/Calls.json" && r.URL.Path != prefix+"/Messages.json") {
			w.WriteHeader(401)
			return
		}
		r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		w.WriteHeader(201)
		if r.URL.Path == prefix+"/Messages.json" {
			f.messages = append(f.messages, r.PostForm)
			// Twilio's num_segments, a string: 160 GSM characters in one
			// segment, 153 each when split.
			segs := 1
			if n := len(r.PostForm.Get("Body")); n > 160 {
				segs = (n + 152) / 153
			}
			fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued","num_segments":"%d"}`, len(f.messages), segs)
			return
		}
		f.calls = append(f.calls, r.PostForm)
		fmt.Fprintf(w, `{"sid":"CA%032d","status":"queued"}`, len(f.calls))
	}))
	t.Cleanup(fake.Close)
	f.st = sqltest.NewStore(t, filepath.Join(t.TempDir(), "twostep.db"))
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	var notifier mfa.Notifier
	switch carrier {
	case "twilio":
		tw, err := twilio.New(twilio.Config{BaseURL: fake.URL, AccountSID: cbAccount, AuthToken: cbToken,
			From: "+15005550006", CallbackURL: cbPublic})
		if err != nil {
			t.Fatal(err)
		}
		notifier = tw
	case "webhook":
		operator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if webhook.Verify(cbSecret, r.Header.Get(webhook.TimestampHeader), r.Header.Get(webhook.SignatureHeader), body, time.Now()) != nil {
				w.WriteHeader(403)
				return
			}
			var p webhook.Payload
			json.Unmarshal(body, &p)
			f.mu.Lock()
			f.payloads = append(f.payloads, p)
			f.mu.Unlock()
			w.WriteHeader(204)
		}))
		t.Cleanup(operator.Close)
		wh, err := webhook.New(webhook.Config{URL: operator.URL, Secret: cbSecret, CallbackURL: cbPublic})
		if err != nil {
			t.Fatal(err)
		}
		notifier = wh
	default:
		t.Fatalf("unknown carrier %q", carrier)
	}
	flow := authflow.New(f.st, time.Now, rand.Reader, log, authflow.WithNotifier(notifier), authflow.WithRecheck(20*time.Millisecond))
	h := server.New(server.Deps{Store: f.st, Logger: log, Now: time.Now, Flow: flow,
		Admin:     admin.New(f.st, time.Now, rand.Reader, log),
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
	akey, _ := mfa.NewID(mfa.PrefixIntegration, rand.Reader)
	askey := strings.Repeat("a", 40)
	if err := f.st.CreateIntegration(ctx, mfa.Integration{IKey: akey, SKey: mfa.Secret(askey), Name: "admin",
		Type: mfa.IntegrationAdminAPI, Permissions: mfa.AdminPermissions{ReadLog: true}, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	aapi := duoapi.NewDuoApi(akey, askey, ts.Host, "twostep-test", duoapi.SetTimeout(10*time.Second),
		duoapi.SetTransport(func(tr *http.Transport) { tr.TLSClientConfig.RootCAs = ts.Pool }))
	f.admin = duoadmin.New(*aapi)
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
	// max texts: a mobile phone.
	uid2, _ := mfa.NewID(mfa.PrefixUser, rand.Reader)
	pid2, _ := mfa.NewID(mfa.PrefixPhone, rand.Reader)
	if err := f.st.CreateUser(ctx, mfa.User{ID: uid2, Username: "max", Status: mfa.StatusActive, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreatePhone(ctx, mfa.Phone{ID: pid2, Number: "+15555550143", Type: mfa.PhoneMobile, Platform: "generic smartphone",
		Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.AttachPhone(ctx, uid2, pid2); err != nil {
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

// telephony reads the telephony log through the Admin API
// (/admin/v1/logs/telephony with Duo's client) as "type phone credits
// status carrier_id" lines, oldest first.
func (f *callFixture) telephony() []string {
	f.t.Helper()
	res, err := f.admin.GetTelephonyLogs(time.Unix(0, 0))
	if err != nil || res.Stat != "OK" {
		f.t.Fatalf("GetTelephonyLogs = %+v, %v", res, err)
	}
	var out []string
	for _, l := range res.Logs {
		out = append(out, fmt.Sprintf("%v %v %v %q %q", l["type"], l["phone"], l["credits"], l["status"], l["carrier_id"]))
	}
	return out
}

// TestTwilioStatusCallbacks: Twilio's signed status callbacks (and a
// Gather action's CallStatus) record the delivery status of texts and
// calls in the telephony log, by MessageSid or CallSid, only forward in
// the lifecycle; the Admin API shows status, carrier id and the credits
// Twilio billed (num_segments). Forged and replayed callbacks change
// nothing.
func TestTwilioStatusCallbacks(t *testing.T) {
	f := newCallFixture(t)
	if _, err := f.st.UpdateSettings(t.Context(), func(s *mfa.Settings) error {
		s.SMSMessage = "Example Corp sign-in codes. Use each code once; a new batch replaces this one. Your codes:"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := f.duo.Auth("sms", authapi.AuthUsername("max"), authapi.AuthDevice("auto"), authapi.AuthIpAddr("198.51.100.60"))
	if err != nil || res.Stat != "OK" || res.Response.Status != "sent" {
		t.Fatalf("Auth(sms) = %+v, %v", res, err)
	}
	smsSid := fmt.Sprintf("SM%032d", 1) // 10 codes after the message: 170 characters, 2 segments
	txid, action := f.call("198.51.100.61")
	callSid := fmt.Sprintf("CA%032d", 1)
	want := func(step string, lines ...string) {
		t.Helper()
		if diff := cmp.Diff(lines, f.telephony()); diff != "" {
			t.Errorf("%s: Admin API telephony log mismatch (-want +got):\n%s", step, diff)
		}
	}
	want("sent", `sms +15555550143 2 "" "`+smsSid+`"`, `phone +15555550142 1 "" "`+callSid+`"`)

	smsStatus := cbPublic + "/notify/twilio/status?kind=sms"
	callStatus := cbPublic + "/notify/twilio/status?kind=call&txid=" + url.QueryEscape(txid)
	post := func(full string, form url.Values, token string, wantCode int) {
		t.Helper()
		if code, body := f.twilioPost(full, form, token); code != wantCode {
			t.Errorf("callback %v = %d %s, want %d", form, code, body, wantCode)
		}
	}
	sms := func(status string) url.Values {
		return url.Values{"MessageSid": {smsSid}, "MessageStatus": {status}, "AccountSid": {cbAccount}}
	}
	post(smsStatus, sms("sent"), cbToken, 204)
	post(callStatus, url.Values{"CallSid": {callSid}, "CallStatus": {"ringing"}}, cbToken, 204)
	want("sent and ringing", `sms +15555550143 2 "sent" "`+smsSid+`"`, `phone +15555550142 1 "ringing" "`+callSid+`"`)

	// Forged (another token, no signature), tampered and replayed
	// callbacks are refused and change nothing.
	post(smsStatus, sms("undelivered"), "the-wrong-token-0123", 403)
	post(smsStatus, sms("undelivered"), "", 403)
	req, _ := http.NewRequest("POST", f.srv.URL+"/notify/twilio/status?kind=sms", strings.NewReader(sms("failed").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(cbToken, smsStatus, sms("delivered")))
	if code, _ := f.do(req); code != 403 {
		t.Errorf("tampered status callback = %d, want 403", code)
	}
	post(callStatus, url.Values{"CallSid": {callSid}, "CallStatus": {"busy"}}, "the-wrong-token-0123", 403)
	post(smsStatus, sms("sent"), cbToken, 403) // the same signed request again
	want("after refused callbacks", `sms +15555550143 2 "sent" "`+smsSid+`"`, `phone +15555550142 1 "ringing" "`+callSid+`"`)
	if st, _ := f.duo.AuthStatus(txid); st == nil || st.Response.Result != "waiting" {
		t.Errorf("after a forged busy the call = %+v, want still waiting", st)
	}

	// Delivered; then a late "sent" (another event, so a new signature)
	// does not overwrite it.
	post(smsStatus, url.Values{"MessageSid": {smsSid}, "MessageStatus": {"delivered"}, "SmsStatus": {"delivered"}}, cbToken, 204)
	post(smsStatus, url.Values{"MessageSid": {smsSid}, "MessageStatus": {"sent"}, "SmsStatus": {"sent"}}, cbToken, 204)
	// The call: answered (the Gather action carries in-progress), key 1,
	// completed, and a late ringing.
	code, body := f.twilioPost(action, url.Values{"CallSid": {callSid}, "CallStatus": {"in-progress"}, "Digits": {"1"}}, cbToken)
	if code != 200 || !strings.Contains(body, "approved") {
		t.Errorf("Gather = %d %s", code, body)
	}
	want("answered", `sms +15555550143 2 "delivered" "`+smsSid+`"`, `phone +15555550142 1 "in-progress" "`+callSid+`"`)
	post(callStatus, url.Values{"CallSid": {callSid}, "CallStatus": {"completed"}, "CallDuration": {"14"}}, cbToken, 204)
	post(callStatus, url.Values{"CallSid": {callSid}, "CallStatus": {"ringing"}, "Late": {"1"}}, cbToken, 204)
	want("final", `sms +15555550143 2 "delivered" "`+smsSid+`"`, `phone +15555550142 1 "completed" "`+callSid+`"`)
	if st := f.final(txid); st.Response.Result != "allow" {
		t.Errorf("call = %+v, want allow", st.Response)
	}

	// A status of a message twostep has no record of (twostepd delivery
	// test) or a word outside the lifecycle is accepted and logged.
	post(smsStatus, url.Values{"MessageSid": {"SMnotours"}, "MessageStatus": {"delivered"}}, cbToken, 204)
	post(smsStatus, url.Values{"MessageSid": {smsSid}, "MessageStatus": {"read"}}, cbToken, 204)
	want("unknown", `sms +15555550143 2 "delivered" "`+smsSid+`"`, `phone +15555550142 1 "completed" "`+callSid+`"`)
	if !strings.Contains(f.logs.String(), "telephony status not recorded") {
		t.Error("log does not mention the status it did not record")
	}
}

// TestWebhookCallStatus: with the webhook carrier a call's telephony
// record carries its call_id, and the operator's signed outcome callback
// records the status: a keypress or a hang-up is "completed", no-answer,
// busy and failed are themselves. A forged outcome changes nothing.
func TestWebhookCallStatus(t *testing.T) {
	f := newCarrierFixture(t, "webhook")
	call := func(ip string) string {
		t.Helper()
		res, err := f.duo.Auth("phone", authapi.AuthUsername("lena"), authapi.AuthDevice("auto"), authapi.AuthAsync(), authapi.AuthIpAddr(ip))
		if err != nil || res.Stat != "OK" || res.Response.Txid == "" {
			t.Fatalf("Auth(phone) = %+v, %v", res, err)
		}
		f.mu.Lock()
		p := f.payloads[len(f.payloads)-1]
		f.mu.Unlock()
		if p.Call == nil || p.Call.CallID != res.Response.Txid {
			t.Fatalf("webhook payload = %+v, want the call of %s", p, res.Response.Txid)
		}
		return res.Response.Txid
	}
	post := func(k webhook.Keypress, secret string) int {
		t.Helper()
		body, _ := json.Marshal(k)
		ts := time.Now().Unix()
		req, _ := http.NewRequest("POST", f.srv.URL+webhook.KeypressPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.TimestampHeader, strconv.FormatInt(ts, 10))
		req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, ts, body))
		code, _ := f.do(req)
		return code
	}
	tests := []struct {
		give       webhook.Keypress
		wantStatus string
	}{
		{webhook.Keypress{Key: "1"}, "completed"},
		{webhook.Keypress{Status: "hangup"}, "completed"},
		{webhook.Keypress{Status: "no-answer"}, "no-answer"},
		{webhook.Keypress{Status: "busy"}, "busy"},
	}
	var want []string
	for i, tt := range tests {
		txid := call(fmt.Sprintf("198.51.100.%d", 70+i))
		tt.give.CallID = txid
		forged := webhook.Keypress{CallID: txid, Status: "failed"}
		if code := post(forged, "another-secret-0123456"); code != 403 {
			t.Errorf("forged outcome = %d, want 403", code)
		}
		if got := f.telephony(); len(got) != i+1 || got[i] != `phone +15555550142 1 "" "`+txid+`"` {
			t.Errorf("after a forged outcome the telephony log = %q, want the call without a status", got)
		}
		if code := post(tt.give, cbSecret); code != 200 {
			t.Errorf("outcome %+v = %d, want 200", tt.give, code)
		}
		want = append(want, fmt.Sprintf(`phone +15555550142 1 %q %q`, tt.wantStatus, txid))
	}
	if diff := cmp.Diff(want, f.telephony()); diff != "" {
		t.Errorf("Admin API telephony log mismatch (-want +got):\n%s", diff)
	}
}
