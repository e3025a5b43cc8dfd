package authapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	duoauth "github.com/duosecurity/duo_api_golang/authapi"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// answerNext answers the next login request waiting for the user's app
// as the app would (through the engine the device API calls).
func (f *fixture) answerNext(u mfa.User, a authflow.Answer) <-chan error {
	done := make(chan error, 1)
	go func() {
		auths, err := f.Store.UserAuthenticators(context.Background(), u.ID)
		if err != nil || len(auths) == 0 {
			done <- err
			return
		}
		reqs, err := f.Flow.PendingRequests(context.Background(), auths[0], 20*time.Second)
		if err != nil || len(reqs) == 0 {
			done <- err
			return
		}
		done <- f.Flow.AnswerRequest(context.Background(), auths[0], reqs[0].Transaction.ID, a)
	}()
	return done
}

func pushAsync(t *testing.T, f *fixture, user string) string {
	t.Helper()
	res, err := f.Duo().Auth("push", duoauth.AuthUsername(user), duoauth.AuthDevice("auto"), duoauth.AuthAsync(),
		duoauth.AuthType("Transfer"), duoauth.AuthDisplayUsername("Alice A."), duoauth.AuthPushinfo("amount=100&to=Bob"))
	if err != nil || res.Stat != "OK" || res.Response.Txid == "" {
		t.Fatalf("Auth(push, async) = %+v, %v", res, err)
	}
	return res.Response.Txid
}

// pollUntilFinal polls auth_status like a client and returns every answer.
func pollUntilFinal(t *testing.T, f *fixture, txid string) []*duoauth.AuthStatusResult {
	t.Helper()
	var out []*duoauth.AuthStatusResult
	for range 20 {
		st, err := f.Duo().AuthStatus(txid)
		if err != nil || st.Stat != "OK" {
			t.Fatalf("AuthStatus = %+v, %v", st, err)
		}
		out = append(out, st)
		if st.Response.Result != "waiting" {
			return out
		}
	}
	t.Fatalf("20 non-final auth_status answers: %+v", out[len(out)-1].Response)
	return nil
}

func TestPushAsyncWithDuoClient(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice", mfa.StatusActive)
	f.app(u, []byte("12345678901234567890"), false)

	t.Run("allow", func(t *testing.T) {
		txid := pushAsync(t, f, "alice")
		first, err := f.Duo().AuthStatus(txid)
		if err != nil || first.Response.Result != "waiting" || first.Response.Status != "pushed" || first.Response.Status_Msg == "" {
			t.Fatalf("first poll = %+v, %v", first, err)
		}
		answered := f.answerNext(u, authflow.Answer{Approve: true})
		polls := pollUntilFinal(t, f, txid)
		if err := <-answered; err != nil {
			t.Fatal(err)
		}
		last := polls[len(polls)-1].Response
		if last.Result != "allow" || last.Status != "allow" || last.Status_Msg != "Success. Logging you in..." {
			t.Errorf("final = %+v", last)
		}
	})
	t.Run("deny", func(t *testing.T) {
		txid := pushAsync(t, f, "alice")
		if err := <-f.answerNext(u, authflow.Answer{}); err != nil {
			t.Fatal(err)
		}
		last := pollUntilFinal(t, f, txid)
		if r := last[len(last)-1].Response; r.Result != "deny" || r.Status != "deny" || r.Status_Msg != "Login request denied." {
			t.Errorf("final = %+v", r)
		}
	})
	t.Run("fraud", func(t *testing.T) {
		txid := pushAsync(t, f, "alice")
		if err := <-f.answerNext(u, authflow.Answer{Fraud: true}); err != nil {
			t.Fatal(err)
		}
		last := pollUntilFinal(t, f, txid)
		if r := last[len(last)-1].Response; r.Result != "deny" || r.Status != "fraud" {
			t.Errorf("final = %+v", r)
		}
		// Pushes to the phone are muted now; unmute for the next subtest.
		if err := f.Store.MutePush(t.Context(), mustPhone(t, f, u).ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		st, err := f.Store.GetSettings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st.PushTimeout = 2 * time.Second
		if err := f.Store.PutSettings(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		txid := pushAsync(t, f, "alice")
		polls := pollUntilFinal(t, f, txid)
		if r := polls[len(polls)-1].Response; r.Result != "deny" || r.Status != "timeout" || r.Status_Msg != "Login timed out." {
			t.Errorf("final = %+v", r)
		}
		if len(polls) > 3 {
			t.Errorf("%d polls for a 2 s push", len(polls))
		}
	})
	logs, _, err := f.Store.ListAuthLog(t.Context(), mfa.AuthLogFilter{UserIDs: []string{u.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, l := range logs {
		reasons = append(reasons, l.Reason)
	}
	want := map[string]bool{"user_approved": true, "user_cancelled": true, "user_marked_fraud": true, "no_response": true}
	if len(logs) != 4 {
		t.Errorf("auth log reasons %v, want one each of user_approved, user_cancelled, user_marked_fraud, no_response", reasons)
	}
	for _, r := range reasons {
		if !want[r] {
			t.Errorf("unexpected reason %q in %v", r, reasons)
		}
	}
}

func TestPushSyncWithDuoClient(t *testing.T) {
	f := newFixture(t)
	u := f.user("alice", mfa.StatusActive)
	f.app(u, []byte("12345678901234567890"), false)
	answered := f.answerNext(u, authflow.Answer{Approve: true})
	res, err := f.Duo().Auth("auto", duoauth.AuthUsername("alice"), duoauth.AuthDevice("auto"))
	if err != nil || res.Response.Result != "allow" {
		t.Fatalf("Auth(auto, sync) = %+v, %v", res, err)
	}
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
}

func TestAuthStatusUnknownTxid(t *testing.T) {
	f := newFixture(t)
	r := f.Call("GET", "/auth/v2/auth_status", url.Values{"txid": {"8a7b6c5d-0000-4000-8000-000000000000"}})
	if r.Status != 400 || r.Code != 40002 || r.MessageDetail != "txid: unknown txid" {
		t.Errorf("auth_status(unknown) = %d %d %q", r.Status, r.Code, r.MessageDetail)
	}
	r = f.Call("GET", "/auth/v2/auth_status", url.Values{})
	if r.Status != 400 || r.Code != 40002 {
		t.Errorf("auth_status() = %d %d %q", r.Status, r.Code, r.MessageDetail)
	}
}

func TestLegacyPush(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	u := f.user("alice", mfa.StatusActive)
	f.app(u, []byte("12345678901234567890"), false)
	r := f.legacy(key, "POST", "/rest/v1/auth.bson", url.Values{"user": {"alice"}, "factor": {"auto"},
		"auto": {"push1"}, "async": {"1"}, "pushinfo": {"Server+IP=10.0.0.1&Command="}})
	if r.Status != 200 {
		t.Fatalf("auth = %d %v", r.Status, r.Raw)
	}
	txid := r.str(t, "txid")
	first := f.legacy(key, "GET", "/rest/v1/status.bson", url.Values{"txid": {txid}})
	if first.Response.Lookup("result").Type != 0 || first.str(t, "status") != authflow.MsgPushed {
		t.Errorf("first status = %v", first.Response)
	}
	if err := <-f.answerNext(u, authflow.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	end := f.legacy(key, "GET", "/rest/v1/status.bson", url.Values{"txid": {txid}})
	if end.str(t, "result") != "allow" || end.str(t, "status") != authflow.MsgApproved {
		t.Errorf("final status = %v", end.Response)
	}
	// Autopush mode: synchronous auth with the default factor.
	answered := f.answerNext(u, authflow.Answer{})
	sync := f.legacy(key, "POST", "/rest/v1/auth.bson", url.Values{"user": {"alice"}, "factor": {"auto"},
		"auto": {"push1"}, "async": {"0"}})
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if sync.str(t, "result") != "deny" || sync.str(t, "status") != authflow.MsgDenied {
		t.Errorf("sync push = %v", sync.Response)
	}
}

func mustPhone(t *testing.T, f *fixture, u mfa.User) mfa.Phone {
	t.Helper()
	ps, err := f.Store.UserPhones(t.Context(), u.ID)
	if err != nil || len(ps) == 0 {
		t.Fatalf("UserPhones = %v, %v", ps, err)
	}
	return ps[0]
}

func TestLegacyPingCheck(t *testing.T) {
	f := newFixture(t)
	key := f.unixKey("ssh")
	for path, want := range map[string]string{"/rest/v1/ping.json": "pong", "/rest/v1/check": "valid", "/rest/v1/check.json": "valid"} {
		r := f.legacy(key, "GET", path, url.Values{})
		var env struct {
			Stat     string `json:"stat"`
			Response string `json:"response"`
		}
		if err := json.Unmarshal(r.Raw, &env); err != nil || r.Status != 200 || env.Stat != "OK" || env.Response != want {
			t.Errorf("GET %s = %d %s, want OK %q", path, r.Status, r.Raw, want)
		}
	}
	// Signed by another integration type: refused.
	r := f.legacy(f.Key, "GET", "/rest/v1/check.json", url.Values{})
	if r.Status != 401 {
		t.Errorf("v1 check signed by an authapi integration without v1 signatures = %d, want 401", r.Status)
	}
}

func TestRememberedDeviceWithDuoClient(t *testing.T) {
	f := newFixture(t)
	f.Key.TrustedDeviceDays = 7
	if err := f.Store.UpdateIntegration(t.Context(), f.Key); err != nil {
		t.Fatal(err)
	}
	u := f.user("alice", mfa.StatusActive)
	f.app(u, []byte("12345678901234567890"), false)
	res, err := f.Duo().Auth("passcode", duoauth.AuthUsername("alice"), duoauth.AuthPasscode(rfc4226[0]))
	if err != nil || res.Response.Result != "allow" || res.Response.Trusted_Device_Token == "" {
		t.Fatalf("Auth = %+v, %v; want allow with a trusted_device_token", res, err)
	}
	pre, err := f.Duo().Preauth(duoauth.PreauthUsername("alice"), duoauth.PreauthTrustedToken(res.Response.Trusted_Device_Token))
	if err != nil || pre.Response.Result != "allow" {
		t.Errorf("Preauth(with token) = %+v, %v; want allow", pre, err)
	}
	pre, err = f.Duo().Preauth(duoauth.PreauthUsername("alice"), duoauth.PreauthTrustedToken("not-a-token"))
	if err != nil || pre.Response.Result != "auth" {
		t.Errorf("Preauth(bad token) = %+v, %v; want auth", pre, err)
	}
	// A push approved later also carries a token in auth_status.
	txid := pushAsync(t, f, "alice")
	if err := <-f.answerNext(u, authflow.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	polls := pollUntilFinal(t, f, txid)
	if r := polls[len(polls)-1].Response; r.Result != "allow" || r.Trusted_Device_Token == "" {
		t.Errorf("auth_status = %+v, want allow with a token", r)
	}
}

// TestVerifiedPushDuoUnix22 drives the exchange duo_unix 2.2 makes with
// verified_push=yes (its mockduo.py, DUO-WIRE 2.1): preauth with
// client_supports_verified_push=1 and text_prompt=1 answers a txid and
// menu options verified_pushN; auth with factor=prompt,
// prompt=verified_push1 and that txid pushes asking for the code, whose
// digits the async answer and the waiting auth_status message carry.
func TestVerifiedPushDuoUnix22(t *testing.T) {
	f := newFixture(t)
	u := f.user("vera", mfa.StatusActive)
	f.app(u, []byte("12345678901234567890"), false)
	setVerified := func(on bool) {
		st, err := f.Store.GetSettings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		st.VerifiedPush, st.VerifiedPushDigits = on, 3
		if err := f.Store.PutSettings(t.Context(), st); err != nil {
			t.Fatal(err)
		}
	}
	type preauthAnswer struct {
		Result string `json:"result"`
		TxID   string `json:"txid"`
		Prompt struct {
			Factors map[string]string `json:"factors"`
		} `json:"prompt"`
	}
	preauth := func(p url.Values) preauthAnswer {
		t.Helper()
		r := f.Call("POST", "/auth/v2/preauth", p)
		var got preauthAnswer
		if r.Status != 200 || json.Unmarshal(r.Response, &got) != nil || got.Result != "auth" {
			t.Fatalf("preauth %v = %d %s", p, r.Status, r.Response)
		}
		return got
	}
	ask := url.Values{"username": {"vera"}, "text_prompt": {"1"}, "client_supports_verified_push": {"1"}}

	// Off: nothing changes for a client that asks.
	setVerified(false)
	if got := preauth(ask); got.TxID != "" || got.Prompt.Factors["1"] != "push1" {
		t.Errorf("preauth with verified_push off = %+v, want no txid and push1", got)
	}
	setVerified(true)
	if got := preauth(url.Values{"username": {"vera"}, "text_prompt": {"1"}}); got.TxID != "" || got.Prompt.Factors["1"] != "push1" {
		t.Errorf("preauth without client_supports_verified_push = %+v, want no txid and push1", got)
	}
	got := preauth(ask)
	if len(got.TxID) != 36 || got.Prompt.Factors["1"] != "verified_push1" || got.Prompt.Factors["default"] != "verified_push1" {
		t.Fatalf("preauth = %+v, want a txid and verified_push1 as option 1 and default", got)
	}

	r := f.Call("POST", "/auth/v2/auth", url.Values{"username": {"vera"}, "factor": {"prompt"},
		"prompt": {"verified_push1"}, "txid": {got.TxID}, "async": {"1"}, "ipaddr": {"192.0.2.8"}})
	var started struct {
		TxID string `json:"txid"`
		Code string `json:"verification_code"`
	}
	if r.Status != 200 || json.Unmarshal(r.Response, &started) != nil || started.TxID == "" || len(started.Code) != 3 {
		t.Fatalf("auth(prompt=verified_push1) = %d %s, want a txid and a 3-digit code", r.Status, r.Response)
	}
	first, err := f.Duo().AuthStatus(started.TxID)
	if err != nil || first.Response.Result != "waiting" || !strings.Contains(first.Response.Status_Msg, started.Code) {
		t.Fatalf("first auth_status = %+v, %v; want waiting with the code %s in the message", first, err, started.Code)
	}
	// The app must send the code: a wrong one is refused and the push
	// stays open; the right one approves.
	wrong := fmt.Sprintf("%03d", (atoi(started.Code)+1)%1000)
	if err := <-f.answerNext(u, authflow.Answer{Approve: true, Code: wrong}); !errors.Is(err, authflow.ErrWrongVerificationCode) {
		t.Fatalf("approve with the wrong code = %v, want ErrWrongVerificationCode", err)
	}
	answered := f.answerNext(u, authflow.Answer{Approve: true, Code: started.Code})
	polls := pollUntilFinal(t, f, started.TxID)
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if last := polls[len(polls)-1].Response; last.Result != "allow" {
		t.Errorf("final auth_status = %+v, want allow", last)
	}

	// A txid that is not one is refused by name; one of any other shape
	// is ignored, as duo_unix only hands back what preauth gave it.
	r = f.Call("POST", "/auth/v2/auth", url.Values{"username": {"vera"}, "factor": {"prompt"},
		"prompt": {"verified_push1"}, "txid": {strings.Repeat("x", 65)}, "async": {"1"}})
	if r.Status != 400 || r.Code != 40002 || !strings.Contains(r.MessageDetail, "txid") {
		t.Errorf("auth with a 65-character txid = %d %d %q, want 400 40002 naming txid", r.Status, r.Code, r.MessageDetail)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
