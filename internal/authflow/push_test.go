package authflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/mfa/mfatest"
	"github.com/twostep-auth/twostep/internal/otp"
)

// pushEnv is an env whose waits re-check every few milliseconds, so the
// test clock's jumps are noticed at once, with a recording notifier.
func pushEnv(t *testing.T) (*env, *mfatest.Notifier) {
	n := &mfatest.Notifier{}
	return newEnv(t, authflow.WithNotifier(n), authflow.WithRecheck(5*time.Millisecond),
		authflow.WithSMSLimit(authflow.Limit{})), n
}

func (e *env) push(user string, mods ...func(*authflow.AuthRequest)) authflow.AuthResult {
	e.t.Helper()
	req := authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user}, Factor: mfa.FactorPush,
		Device: "auto", Async: true, IP: "198.51.100.7", Hostname: "vpn1", PushInfo: "Server=db1&Command=ls"}
	for _, m := range mods {
		m(&req)
	}
	res, err := e.Svc.Auth(e.ctx, req)
	if err != nil {
		e.t.Fatalf("Auth(push %s) = %v", user, err)
	}
	return res
}

// status polls once with a short wait, advancing the test clock past it
// from the side so that the poll returns.
func (e *env) status(txid string) authflow.StatusResult {
	e.t.Helper()
	const wait = 10 * time.Second
	type answer struct {
		st  authflow.StatusResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		st, err := e.Svc.AuthStatus(e.ctx, e.In, txid, wait)
		done <- answer{st, err}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(30 * time.Second)
	for {
		select {
		case a := <-done:
			if a.err != nil {
				e.t.Fatalf("AuthStatus(%s) = %v", txid, a.err)
			}
			return a.st
		case <-tick.C:
			e.Clock.Advance(time.Second)
		case <-giveUp:
			e.t.Fatal("AuthStatus did not return")
		}
	}
}

func TestPushApprove(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("alice", mfa.StatusActive)
	au := e.app(u, 0, false)

	res := e.push("alice")
	if res.TxID == "" || res.Result != "" {
		t.Fatalf("async push = %+v, want only a txid", res)
	}
	first, err := e.Svc.AuthStatus(e.ctx, e.In, res.TxID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if first.Result != authflow.ResultWaiting || first.Status != authflow.StatusPushed || first.StatusMsg != authflow.MsgPushed {
		t.Errorf("first poll = %+v, want waiting/pushed at once", first)
	}
	reqs, err := e.Svc.PendingRequests(e.ctx, au, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].Transaction.ID != res.TxID || reqs[0].Application != "test app" || reqs[0].Username != "alice" ||
		reqs[0].Transaction.IP != "198.51.100.7" || reqs[0].Transaction.PushInfo != "Server=db1&Command=ls" {
		t.Fatalf("PendingRequests = %+v", reqs)
	}
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	st := e.status(res.TxID)
	if st.Result != authflow.ResultAllow || st.Status != authflow.StatusAllow {
		t.Errorf("status after approve = %+v, want allow", st)
	}
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); !errors.Is(err, authflow.ErrAlreadyAnswered) {
		t.Errorf("second answer = %v, want ErrAlreadyAnswered", err)
	}
	l := e.lastLog(u.ID)
	if l.TxID != res.TxID || l.Factor != authflow.LogFactorPush || l.Result != mfa.ResultSuccess || l.Reason != authflow.ReasonUserApproved ||
		l.IntegrationName != "test app" || l.Username != "alice" || l.IP != "198.51.100.7" || l.DeviceID != au.PhoneID {
		t.Errorf("auth log = %+v", l)
	}
	if n := len(e.logs(u.ID)); n != 1 {
		t.Errorf("%d auth log records, want 1", n)
	}
	if reqs, _ := e.Svc.PendingRequests(e.ctx, au, 0); len(reqs) != 0 {
		t.Errorf("still pending after the answer: %+v", reqs)
	}
}

func TestPushDenyAndFraud(t *testing.T) {
	e, n := pushEnv(t)
	e.settings(func(s *mfa.Settings) { s.FraudEmail, s.FraudEmailEnabled = "soc@example.com", true })
	u := e.user("bob", mfa.StatusActive)
	au := e.app(u, 0, false)

	deny := e.push("bob")
	if err := e.Svc.AnswerRequest(e.ctx, au, deny.TxID, authflow.Answer{}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(deny.TxID); st.Result != authflow.ResultDeny || st.Status != authflow.StatusDeny || st.StatusMsg != authflow.MsgDenied {
		t.Errorf("deny = %+v", st)
	}
	if l := e.lastLog(u.ID); l.Result != mfa.ResultDenied || l.Reason != authflow.ReasonUserCancelled {
		t.Errorf("deny log = %+v", l)
	}

	e.Clock.Advance(time.Second)
	fraud := e.push("bob")
	if err := e.Svc.AnswerRequest(e.ctx, au, fraud.TxID, authflow.Answer{Fraud: true}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(fraud.TxID); st.Result != authflow.ResultDeny || st.Status != authflow.StatusFraud {
		t.Errorf("fraud = %+v, want deny/fraud", st)
	}
	if l := e.lastLog(u.ID); l.Result != mfa.ResultFraud || l.Reason != authflow.ReasonUserFraud {
		t.Errorf("fraud log = %+v", l)
	}
	var mail *mfa.Message
	for _, m := range n.Messages() {
		if m.Channel == mfa.ChannelEmail {
			mail = &m
		}
	}
	if mail == nil || mail.To != "soc@example.com" || !strings.Contains(string(mail.Body), "bob") ||
		!strings.Contains(string(mail.Body), fraud.TxID) {
		t.Errorf("fraud email = %+v", mail)
	}
	p, err := e.Store.GetPhone(e.ctx, au.PhoneID)
	if err != nil {
		t.Fatal(err)
	}
	if !p.PushMuted(e.Clock.Now()) {
		t.Fatalf("phone not muted after a fraud report: %v", p.PushMutedUntil)
	}
	// Muted: a new push is denied at once and says why; a passcode still works.
	muted, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "bob"},
		Factor: mfa.FactorPush, Device: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if muted.Result != authflow.ResultDeny || muted.StatusMsg != authflow.MsgMuted {
		t.Errorf("push while muted = %+v", muted)
	}
	if res := e.auth("bob", otp.HOTP(seed, 0, 6)); res.Result != authflow.ResultAllow {
		t.Errorf("passcode while muted = %+v", res)
	}
	// After the mute time pushes go out again.
	e.Clock.Advance(mfa.DefaultSettings().PushMuteAfterFraud + time.Second)
	if res := e.push("bob"); res.TxID == "" {
		t.Errorf("push after the mute = %+v", res)
	}
}

func TestPushTimeout(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("carol", mfa.StatusActive)
	au := e.app(u, 0, false)
	res := e.push("carol")

	// Poll like duo_unix does: never 20 non-final answers; the last is deny/timeout.
	var answers []authflow.StatusResult
	for range 20 {
		st := e.status(res.TxID)
		answers = append(answers, st)
		if st.Final() {
			break
		}
	}
	last := answers[len(answers)-1]
	if last.Result != authflow.ResultDeny || last.Status != authflow.StatusTimeout || last.StatusMsg != authflow.MsgTimeout {
		t.Fatalf("after %d polls: %+v, want deny/timeout", len(answers), last)
	}
	if len(answers) > 8 {
		t.Errorf("%d non-final answers for a 60 s push", len(answers)-1)
	}
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); !errors.Is(err, authflow.ErrAlreadyAnswered) && !errors.Is(err, authflow.ErrExpired) {
		t.Errorf("answer after timeout = %v", err)
	}
	if l := e.lastLog(u.ID); l.Reason != authflow.ReasonNoResponse || l.Result != mfa.ResultFailure {
		t.Errorf("timeout log = %+v", l)
	}
	if n := len(e.logs(u.ID)); n != 1 {
		t.Errorf("%d auth log records, want 1", n)
	}
}

func TestPushExpiredAnswerRefused(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("dave", mfa.StatusActive)
	au := e.app(u, 0, false)
	res := e.push("dave")
	e.Clock.Advance(61 * time.Second)
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); !errors.Is(err, authflow.ErrExpired) {
		t.Fatalf("late approve = %v, want ErrExpired", err)
	}
	if st := e.status(res.TxID); st.Status != authflow.StatusTimeout {
		t.Errorf("status = %+v, want timeout", st)
	}
}

func TestPushSyncWaitsForAnswer(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("erin", mfa.StatusActive)
	au := e.app(u, 0, false)
	// The app's side runs until its answer is fully written (the sync
	// push returns as soon as the transaction ends, before the answer's
	// second write, the user's success), so the test waits for it.
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		reqs, err := e.Svc.PendingRequests(context.Background(), au, 30*time.Second)
		if err != nil || len(reqs) != 1 {
			t.Errorf("PendingRequests = %v, %v", reqs, err)
			return
		}
		if err := e.Svc.AnswerRequest(context.Background(), au, reqs[0].Transaction.ID, authflow.Answer{Approve: true}); err != nil {
			t.Errorf("approve: %v", err)
		}
	}()
	res := e.push("erin", func(r *authflow.AuthRequest) { r.Async = false })
	if res.Result != authflow.ResultAllow || res.StatusMsg != authflow.MsgApproved {
		t.Errorf("sync push = %+v, want allow", res)
	}
	<-answered
}

func TestVerifiedPush(t *testing.T) {
	e, _ := pushEnv(t)
	e.settings(func(s *mfa.Settings) { s.VerifiedPush, s.VerifiedPushDigits = true, 4 })
	u := e.user("frank", mfa.StatusActive)
	au := e.app(u, 0, false)

	res := e.push("frank", func(r *authflow.AuthRequest) { r.VerifiedPush = true })
	if len(res.VerificationCode) != 4 {
		t.Fatalf("verification code %q, want 4 digits", res.VerificationCode)
	}
	first, err := e.Svc.AuthStatus(e.ctx, e.In, res.TxID, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.StatusMsg, res.VerificationCode) {
		t.Errorf("first poll %q does not show the code", first.StatusMsg)
	}
	wrong := "0000"
	if res.VerificationCode == wrong {
		wrong = "1111"
	}
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true, Code: wrong}); !errors.Is(err, authflow.ErrWrongVerificationCode) {
		t.Fatalf("wrong code = %v", err)
	}
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); !errors.Is(err, authflow.ErrWrongVerificationCode) {
		t.Fatalf("no code = %v", err)
	}
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true, Code: res.VerificationCode}); err != nil {
		t.Fatalf("right code = %v", err)
	}
	if st := e.status(res.TxID); st.Result != authflow.ResultAllow {
		t.Errorf("status = %+v", st)
	}
	// A client that cannot show a code gets a plain push.
	if plain := e.push("frank"); plain.VerificationCode != "" {
		t.Errorf("verification code for a client without support: %+v", plain)
	}
}

// TestPreauthVerifiedPush: preauth says Verified Push applies only when the
// client can show a code, the setting is on and a device can take pushes.
func TestPreauthVerifiedPush(t *testing.T) {
	e, _ := pushEnv(t)
	e.app(e.user("frank", mfa.StatusActive), 0, false)
	e.phone(e.user("gina", mfa.StatusActive), "+15555550177", mfa.PhoneMobile) // SMS and calls only
	preauth := func(user string, client bool) authflow.PreauthResult {
		t.Helper()
		res, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: user},
			VerifiedPush: client})
		if err != nil || res.Result != authflow.ResultAuth {
			t.Fatalf("Preauth(%s) = %+v, %v", user, res, err)
		}
		return res
	}
	if preauth("frank", true).VerifiedPush {
		t.Error("VerifiedPush with the setting off")
	}
	e.settings(func(s *mfa.Settings) { s.VerifiedPush = true })
	tests := []struct {
		user   string
		client bool
		want   bool
	}{{"frank", true, true}, {"frank", false, false}, {"gina", true, false}}
	for _, tt := range tests {
		if got := preauth(tt.user, tt.client).VerifiedPush; got != tt.want {
			t.Errorf("Preauth(%s, client %v).VerifiedPush = %v, want %v", tt.user, tt.client, got, tt.want)
		}
	}
}

func TestPushOnlyToItsOwnDevice(t *testing.T) {
	e, _ := pushEnv(t)
	alice := e.user("alice", mfa.StatusActive)
	mallory := e.user("mallory", mfa.StatusActive)
	e.app(alice, 0, false)
	other := e.app(mallory, 0, false)
	res := e.push("alice")
	if reqs, err := e.Svc.PendingRequests(e.ctx, other, 0); err != nil || len(reqs) != 0 {
		t.Errorf("another user's device sees %v, %v", reqs, err)
	}
	if err := e.Svc.AnswerRequest(e.ctx, other, res.TxID, authflow.Answer{Approve: true}); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("another user's device answers: %v, want NotFound", err)
	}
	other2 := mfa.Integration{IKey: e.id(mfa.PrefixIntegration), Name: "other"}
	if _, err := e.Svc.AuthStatus(e.ctx, other2, res.TxID, time.Second); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("another integration's auth_status: %v, want Invalid", err)
	}
}

func TestPushLongPollWakesOnAnswer(t *testing.T) {
	e := newEnv(t, authflow.WithRecheck(time.Hour)) // only the event can wake it
	u := e.user("gina", mfa.StatusActive)
	au := e.app(u, 0, false)
	res := e.push("gina")
	if _, err := e.Svc.AuthStatus(e.ctx, e.In, res.TxID, time.Second); err != nil { // the first poll answers at once
		t.Fatal(err)
	}
	done := make(chan authflow.StatusResult, 1)
	go func() {
		st, err := e.Svc.AuthStatus(context.Background(), e.In, res.TxID, authflow.StatusPollWait)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	time.Sleep(50 * time.Millisecond) // let the poll subscribe; correctness does not depend on it
	start := time.Now()
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-done:
		if st.Result != authflow.ResultAllow {
			t.Errorf("woken poll = %+v", st)
		}
		t.Logf("poll woke %v after the answer", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not wake on the answer")
	}
}

func TestOOBDeviceChoice(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("hank", mfa.StatusActive)
	e.token(u, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
	// No phone: factor push is a bad request naming the device...
	_, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "hank"}, Factor: mfa.FactorPush, Device: "auto"})
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.Invalid || me.Field != "device" {
		t.Errorf("push without a phone = %v, want Invalid device", err)
	}
	// ...while "push" typed in the passcode box is a deny the user reads.
	res := e.auth("hank", "push")
	if res.Result != authflow.ResultDeny || res.StatusMsg != authflow.MsgNoPushDevice {
		t.Errorf("typed push = %+v", res)
	}
	// A landline can take a call but not a push: auto calls it.
	e.phone(u, "+15555550199", mfa.PhoneLandline)
	auto, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "hank"},
		Factor: mfa.FactorAuto, Device: "auto", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := e.Store.GetTransaction(e.ctx, auto.TxID)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Factor != mfa.FactorPhone {
		t.Errorf("auto on a landline made a %s transaction", tx.Factor)
	}
	// The call times out with Duo's keypress message.
	if st := e.status(auto.TxID); st.Status != authflow.StatusCalling {
		t.Errorf("first poll = %+v", st)
	}
	e.Clock.Advance(2 * time.Minute)
	if st := e.status(auto.TxID); st.Status != authflow.StatusTimeout || st.StatusMsg != authflow.MsgNoKeypress {
		t.Errorf("call timeout = %+v", st)
	}
}

func TestPhoneCallAnswered(t *testing.T) {
	e, n := pushEnv(t)
	u := e.user("ivy", mfa.StatusActive)
	p := e.phone(u, "+15555550123", mfa.PhoneMobile)
	res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "ivy"},
		Factor: mfa.FactorPhone, Device: p.ID, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	msgs := n.Messages()
	if len(msgs) != 1 || msgs[0].Channel != mfa.ChannelVoice || msgs[0].To != p.Number || msgs[0].TxID != res.TxID {
		t.Fatalf("voice messages = %+v", msgs)
	}
	if err := e.Svc.AnswerCall(e.ctx, res.TxID, "1"); err != nil {
		t.Fatal(err)
	}
	if st := e.status(res.TxID); st.Result != authflow.ResultAllow {
		t.Errorf("answered call = %+v", st)
	}
	if l := e.lastLog(u.ID); l.Factor != authflow.LogFactorPhone || l.Reason != authflow.ReasonUserApproved {
		t.Errorf("call log = %+v", l)
	}
}

func TestActivateAndReactivate(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("jane", mfa.StatusActive)
	code := func(phoneID string) string {
		c := "Code" + strings.Repeat("x", 12) + e.id("")[:4]
		if err := e.Store.CreateActivation(e.ctx, mfa.Activation{ID: e.id(mfa.PrefixActivation), Code: mfa.Passcode(c),
			UserID: u.ID, PhoneID: phoneID, Created: e.Clock.Now(), Expires: e.Clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c1 := code("")
	act, err := e.Svc.Activate(e.ctx, c1+"-aG9zdA", authflow.DeviceInfo{PublicKey: "pem", Platform: "twostep-cli", Model: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	old := act.Authenticator
	if act.User.ID != u.ID || old.PhoneID == "" || len(old.HOTPSecret.Reveal()) != 32 || old.Status != mfa.AuthenticatorActive {
		t.Fatalf("Activate = %+v", act)
	}
	if _, err := e.Svc.Activate(e.ctx, c1, authflow.DeviceInfo{PublicKey: "pem"}); !errors.Is(err, authflow.ErrUnknownActivation) {
		t.Errorf("second use of the code = %v, want ErrUnknownActivation", err)
	}
	// The install's passcodes work; preauth lists the phone with push.
	if res := e.auth("jane", otp.HOTP(old.HOTPSecret.Reveal(), 0, 6)); res.Result != authflow.ResultAllow {
		t.Errorf("first passcode = %+v", res)
	}
	// Reactivating the phone revokes the old install at once.
	act2, err := e.Svc.Activate(e.ctx, code(old.PhoneID), authflow.DeviceInfo{PublicKey: "pem2"})
	if err != nil {
		t.Fatal(err)
	}
	if act2.Authenticator.PhoneID != old.PhoneID {
		t.Errorf("reactivation made a new phone %s, want %s", act2.Authenticator.PhoneID, old.PhoneID)
	}
	if _, err := e.Svc.Install(e.ctx, old.ID); !errors.Is(err, authflow.ErrInstallRevoked) {
		t.Errorf("old install = %v, want ErrInstallRevoked", err)
	}
	res := e.auth("jane", otp.HOTP(old.HOTPSecret.Reveal(), 1, 6))
	if res.Result != authflow.ResultDeny || res.StatusMsg != authflow.MsgReactivate {
		t.Errorf("old install's passcode = %+v, want the reactivate message", res)
	}
	if res := e.auth("jane", otp.HOTP(act2.Authenticator.HOTPSecret.Reveal(), 0, 6)); res.Result != authflow.ResultAllow {
		t.Errorf("new install's passcode = %+v", res)
	}
}

func TestRememberedDevice(t *testing.T) {
	e, _ := pushEnv(t)
	e.In.TrustedDeviceDays = 7
	if err := e.Store.UpdateIntegration(e.ctx, e.In); err != nil {
		t.Fatal(err)
	}
	u := e.user("kim", mfa.StatusActive)
	e.app(u, 0, false)
	res := e.auth("kim", otp.HOTP(seed, 0, 6))
	if res.Result != authflow.ResultAllow || res.TrustedDeviceToken == "" {
		t.Fatalf("allow = %+v, want a trusted_device_token", res)
	}
	pre := func(in mfa.Integration, tok string) authflow.PreauthResult {
		t.Helper()
		r, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: in, Who: authflow.Who{Username: "kim"}, TrustedDeviceToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := pre(e.In, res.TrustedDeviceToken); r.Result != authflow.ResultAllow || r.StatusMsg != authflow.MsgRemembered {
		t.Errorf("preauth with the token = %+v", r)
	}
	if l := e.lastLog(u.ID); l.Reason != authflow.ReasonRememberedDev {
		t.Errorf("remembered log = %+v", l)
	}
	if r := pre(e.In, res.TrustedDeviceToken+"x"); r.Result != authflow.ResultAuth {
		t.Errorf("preauth with a wrong token = %+v", r)
	}
	other := e.In
	other.IKey = e.id(mfa.PrefixIntegration)
	if r := pre(other, res.TrustedDeviceToken); r.Result != authflow.ResultAuth {
		t.Errorf("another integration honours the token: %+v", r)
	}
	e.Clock.Advance(8 * 24 * time.Hour)
	if r := pre(e.In, res.TrustedDeviceToken); r.Result != authflow.ResultAuth {
		t.Errorf("expired token honoured: %+v", r)
	}
	res = e.auth("kim", otp.HOTP(seed, 1, 6))
	if _, err := e.Store.DeleteTrustedDevices(e.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if r := pre(e.In, res.TrustedDeviceToken); r.Result != authflow.ResultAuth {
		t.Errorf("revoked token honoured: %+v", r)
	}
}

// TestRememberedDeviceAfterPush: the token auth_status answers for an
// approved push is the transaction's own: the same on every poll and on
// another node, stored once, honoured by preauth, and not handed out long
// after the end (so revoking remembered devices cannot be undone by
// polling an old transaction again).
func TestRememberedDeviceAfterPush(t *testing.T) {
	e, _ := pushEnv(t)
	e.In.TrustedDeviceDays = 7
	if err := e.Store.UpdateIntegration(e.ctx, e.In); err != nil {
		t.Fatal(err)
	}
	u := e.user("lou", mfa.StatusActive)
	au := e.app(u, 0, false)
	res := e.push("lou")
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	other := e.node()
	var toks []string
	for i, svc := range []*authflow.Service{e.Svc, e.Svc, other} {
		st, err := svc.AuthStatus(e.ctx, e.In, res.TxID, time.Second)
		if err != nil || st.Result != authflow.ResultAllow || st.TrustedDeviceToken == "" {
			t.Fatalf("poll %d = %+v, %v; want allow with a token", i+1, st, err)
		}
		toks = append(toks, st.TrustedDeviceToken)
	}
	if toks[0] != toks[1] || toks[0] != toks[2] {
		t.Errorf("tokens of three polls (the last on another node) = %q, want one token", toks)
	}
	r, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: "lou"}, TrustedDeviceToken: toks[0]})
	if err != nil || r.Result != authflow.ResultAllow {
		t.Errorf("preauth with the push's token = %+v, %v; want allow", r, err)
	}
	if n, err := e.Store.DeleteTrustedDevices(e.ctx, u.ID); err != nil || n != 1 {
		t.Errorf("remembered devices stored = %d, %v; want 1 for three polls", n, err)
	}
	e.Clock.Advance(3 * time.Minute)
	if st, err := e.Svc.AuthStatus(e.ctx, e.In, res.TxID, time.Second); err != nil || st.Result != authflow.ResultAllow || st.TrustedDeviceToken != "" {
		t.Errorf("poll 3 minutes after the end = %+v, %v; want allow without a token", st, err)
	}
	r, err = e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: "lou"}, TrustedDeviceToken: toks[0]})
	if err != nil || r.Result != authflow.ResultAuth {
		t.Errorf("preauth with the revoked token = %+v, %v; want auth", r, err)
	}
}

func TestActivateCustomerName(t *testing.T) {
	e := newEnv(t, authflow.WithCustomerName("Example Corp"))
	u := e.user("lena", mfa.StatusActive)
	code := "CustomerName" + e.id("")[:8]
	if err := e.Store.CreateActivation(e.ctx, mfa.Activation{ID: e.id(mfa.PrefixActivation), Code: mfa.Passcode(code),
		UserID: u.ID, Created: e.Clock.Now(), Expires: e.Clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	act, err := e.Svc.Activate(e.ctx, code, authflow.DeviceInfo{PublicKey: "pem"})
	if err != nil || act.Customer != "Example Corp" {
		t.Errorf("Activate = %+v, %v; want customer Example Corp", act.Customer, err)
	}
}

// The per-address limit counts passcode guesses only: an office behind one
// NAT address can send many pushes.
func TestIPLimitCountsPasscodesOnly(t *testing.T) {
	e := newEnv(t, authflow.WithLimits(authflow.Limit{}, authflow.Limit{Burst: 2, Every: time.Hour}),
		authflow.WithRecheck(5*time.Millisecond))
	for _, name := range []string{"u1", "u2", "u3", "u4"} {
		e.app(e.user(name, mfa.StatusActive), 0, false)
		if res := e.push(name); res.TxID == "" { // IP 198.51.100.7 each time
			t.Fatalf("push %s = %+v", name, res)
		}
	}
	try := func(user string) error {
		_, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
			Factor: mfa.FactorPasscode, Passcode: "000000", IP: "198.51.100.7"})
		return err
	}
	for i, u := range []string{"u1", "u2"} {
		if err := try(u); err != nil {
			t.Fatalf("passcode %d = %v", i+1, err)
		}
	}
	if err := try("u3"); !errors.Is(err, mfa.ErrRateLimited) {
		t.Errorf("third passcode from the address = %v, want RateLimited", err)
	}
}

// TestPushLimitPerUser: push after push for one user ("MFA fatigue") is
// refused after the burst with a Retry-After, other users are unaffected,
// and the limit refills with time.
func TestPushLimitPerUser(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("fatigue", mfa.StatusActive)
	e.app(u, 0, false)
	e.app(e.user("bystander", mfa.StatusActive), 0, false)
	burst := authflow.DefaultPushLimit().Burst
	for i := range burst {
		if res := e.push("fatigue"); res.TxID == "" {
			t.Fatalf("push %d = %+v, want a transaction", i+1, res)
		}
	}
	pushErr := func(user string) error {
		_, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: user},
			Factor: mfa.FactorPush, Device: "auto", Async: true, IP: "198.51.100.7"})
		return err
	}
	err := pushErr("fatigue")
	var me *mfa.Error
	if !errors.As(err, &me) || me.Kind != mfa.RateLimited || me.RetryAfter <= 0 || me.RetryAfter > time.Minute ||
		me.Msg != authflow.MsgPushLimited {
		t.Fatalf("push %d = %v, want RateLimited %q with a Retry-After up to a minute", burst+1, err, authflow.MsgPushLimited)
	}
	// A push typed as a keyword in the passcode box counts the same.
	if _, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "fatigue"},
		Factor: mfa.FactorPasscode, Passcode: "push"}); !errors.Is(err, mfa.ErrRateLimited) {
		t.Errorf("typed \"push\" over the limit = %v, want RateLimited", err)
	}
	if err := pushErr("bystander"); err != nil {
		t.Errorf("another user's push = %v, want a transaction", err)
	}
	e.Clock.Advance(time.Minute)
	if err := pushErr("fatigue"); err != nil {
		t.Errorf("push a minute later = %v, want a transaction", err)
	}
	if err := pushErr("fatigue"); !errors.Is(err, mfa.ErrRateLimited) {
		t.Errorf("the next push = %v, want RateLimited (one a minute)", err)
	}
	// Passcodes are not limited by it.
	if res := e.auth("fatigue", "000000"); res.Status != authflow.StatusDeny {
		t.Errorf("a passcode while pushes are limited = %+v, want an ordinary deny", res)
	}
}
