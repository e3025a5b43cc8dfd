package authflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/otp"
)

// TestAsyncKeepsDecidedAnswers: an async auth decided at once is kept by
// the engine as a completed transaction that AuthStatus answers, so that
// no front end builds transactions itself.
func TestAsyncKeepsDecidedAnswers(t *testing.T) {
	e, _ := pushEnv(t)
	u := e.user("alice", mfa.StatusActive)
	e.token(u, mfa.Token{Type: mfa.TokenH6, Secret: mfa.Secret(seed)})
	good := otp.HOTP(seed, 0, 6)
	tests := []struct {
		name       string
		give       string
		wantResult string
		wantMsg    string
		wantState  mfa.TxState
	}{
		{"passcode allows", good, authflow.ResultAllow, authflow.MsgSuccess, mfa.TxAllow},
		{"used passcode denies", good, authflow.ResultDeny, authflow.MsgUsed, mfa.TxDeny},
		{"push with no capable device denies", "push", authflow.ResultDeny, authflow.MsgNoPushDevice, mfa.TxDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.Svc.Auth(e.ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "alice"},
				Factor: mfa.FactorPasscode, Passcode: mfa.Passcode(tt.give), Async: true, IP: "192.0.2.9", Hostname: "vpn2"})
			if err != nil {
				t.Fatal(err)
			}
			if res.TxID == "" || res.Result != tt.wantResult || res.StatusMsg != tt.wantMsg {
				t.Fatalf("Auth(%q, async) = %+v, want %s %q with a txid", tt.give, res, tt.wantResult, tt.wantMsg)
			}
			tx, err := e.Store.GetTransaction(e.ctx, res.TxID)
			if err != nil {
				t.Fatal(err)
			}
			if tx.State != tt.wantState || tx.IKey != e.In.IKey || tx.DisplayUsername != "alice" || tx.IP != "192.0.2.9" ||
				tx.Hostname != "vpn2" || !tx.Expires.Equal(e.Clock.Now().Add(authflow.DecidedTxLifetime)) || tx.Answered.IsZero() {
				t.Errorf("kept transaction = %+v", tx)
			}
			st, err := e.Svc.AuthStatus(e.ctx, e.In, res.TxID, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if st.Result != tt.wantResult || st.StatusMsg != tt.wantMsg {
				t.Errorf("AuthStatus = %+v, want %s %q", st, tt.wantResult, tt.wantMsg)
			}
			e.Clock.Advance(time.Millisecond)
		})
	}
	// Synchronous answers keep nothing: after clearing every finished
	// transaction, a sync auth leaves none to clear.
	far := e.Clock.Now().Add(24 * time.Hour)
	if _, err := e.Store.DeleteFinishedTransactions(e.ctx, far); err != nil {
		t.Fatal(err)
	}
	if res := e.auth("alice", "000000"); res.TxID != "" {
		t.Errorf("sync Auth = %+v, want no txid", res)
	}
	if n, err := e.Store.DeleteFinishedTransactions(e.ctx, far); err != nil || n != 0 {
		t.Errorf("sync Auth kept %d transactions (%v), want none", n, err)
	}
}

// TestRefuse: a deny a front end answers before any factor is tried writes
// no auth log; with Async it is kept for AuthStatus.
func TestRefuse(t *testing.T) {
	e := newEnv(t)
	u := e.user("bob", mfa.StatusActive)
	req := authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "bob"}, Factor: mfa.FactorPasscode, IP: "192.0.2.3"}
	res, err := e.Svc.Refuse(e.ctx, req, "No passcode entered.")
	if err != nil || res.Result != authflow.ResultDeny || res.Status != authflow.StatusDeny || res.StatusMsg != "No passcode entered." || res.TxID != "" {
		t.Fatalf("Refuse(sync) = %+v, %v", res, err)
	}
	req.Async = true
	res, err = e.Svc.Refuse(e.ctx, req, "No passcode entered.")
	if err != nil || res.TxID == "" {
		t.Fatalf("Refuse(async) = %+v, %v, want a txid", res, err)
	}
	st, err := e.Svc.AuthStatus(e.ctx, e.In, res.TxID, time.Second)
	if err != nil || st.Result != authflow.ResultDeny || st.StatusMsg != "No passcode entered." {
		t.Errorf("AuthStatus(refused) = %+v, %v", st, err)
	}
	other := e.In
	other.IKey = "DIOTHERINTEGRATION00"
	if _, err := e.Svc.AuthStatus(e.ctx, other, res.TxID, time.Second); mfa.KindOf(err) != mfa.Invalid {
		t.Errorf("AuthStatus(other integration) = %v, want Invalid", err)
	}
	if l := e.logs(u.ID); len(l) != 0 {
		t.Errorf("Refuse wrote %d auth log records, want none", len(l))
	}
}

// TestPreauthVerifiedPushTxID: preauth offers a fresh txid exactly when
// Verified Push applies.
func TestPreauthVerifiedPushTxID(t *testing.T) {
	e, _ := pushEnv(t)
	e.app(e.user("frank", mfa.StatusActive), 0, false)
	preauth := func() authflow.PreauthResult {
		res, err := e.Svc.Preauth(e.ctx, authflow.PreauthRequest{Integration: e.In, Who: authflow.Who{Username: "frank"}, VerifiedPush: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := preauth(); res.TxID != "" {
		t.Errorf("preauth without Verified Push = %+v, want no txid", res)
	}
	e.settings(func(s *mfa.Settings) { s.VerifiedPush = true })
	a, b := preauth(), preauth()
	if !a.VerifiedPush || len(a.TxID) != 36 || a.TxID == b.TxID {
		t.Errorf("preauth with Verified Push = %+v then %+v, want fresh UUID txids", a, b)
	}
}

// TestCancel: the person logging in cancels a pending push (the browser
// prompt's cancel): deny/MsgCancelled, one log record with reason
// user_cancelled that does not count toward the lockout, the request
// gone from the app; a second cancel, an answer after it, an unknown
// txid and another integration's txid are refused.
func TestCancel(t *testing.T) {
	e, _ := pushEnv(t)
	e.settings(func(s *mfa.Settings) { s.LockoutThreshold = 1 })
	u := e.user("carol", mfa.StatusActive)
	au := e.app(u, 0, false)

	res := e.push("carol")
	other := e.In
	other.IKey = "DIOTHERINTEGRATION00"
	tests := []struct {
		name string
		in   mfa.Integration
		txid string
		want mfa.Kind
	}{
		{"empty txid", e.In, "", mfa.Invalid},
		{"unknown txid", e.In, "00000000-0000-4000-8000-000000000000", mfa.Invalid},
		{"another integration's txid", other, res.TxID, mfa.Invalid},
	}
	for _, tt := range tests {
		if err := e.Svc.Cancel(e.ctx, tt.in, tt.txid); mfa.KindOf(err) != tt.want || err == nil {
			t.Errorf("%s: Cancel = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := e.Svc.Cancel(e.ctx, e.In, res.TxID); err != nil {
		t.Fatalf("Cancel = %v", err)
	}
	st := e.status(res.TxID)
	if st.Result != authflow.ResultDeny || st.Status != authflow.StatusDeny || st.StatusMsg != authflow.MsgCancelled {
		t.Errorf("status after cancel = %+v", st)
	}
	logs := e.logs(u.ID)
	if len(logs) != 1 || logs[0].TxID != res.TxID || logs[0].Result != mfa.ResultDenied || logs[0].Reason != authflow.ReasonUserCancelled ||
		logs[0].Factor != authflow.LogFactorPush || logs[0].IntegrationName != "test app" {
		t.Errorf("auth log after cancel = %+v, want one user_cancelled record", logs)
	}
	if got := e.getUser(u.ID); got.Status != mfa.StatusActive {
		t.Errorf("user after cancel = %s, want active (a cancel is no failed attempt)", got.Status)
	}
	if reqs, _ := e.Svc.PendingRequests(e.ctx, au, 0); len(reqs) != 0 {
		t.Errorf("the app still lists the cancelled request: %+v", reqs)
	}
	if err := e.Svc.Cancel(e.ctx, e.In, res.TxID); mfa.KindOf(err) != mfa.Conflict {
		t.Errorf("second Cancel = %v, want Conflict", err)
	}
	if err := e.Svc.AnswerRequest(e.ctx, au, res.TxID, authflow.Answer{Approve: true}); err == nil {
		t.Error("approving a cancelled request succeeded")
	}
	if n := len(e.logs(u.ID)); n != 1 {
		t.Errorf("%d auth log records, want 1", n)
	}

	// A push whose time is up is ended as timed out, not cancelled.
	late := e.push("carol")
	e.Clock.Advance(2 * time.Minute)
	if err := e.Svc.Cancel(e.ctx, e.In, late.TxID); mfa.KindOf(err) != mfa.Conflict {
		t.Errorf("Cancel(expired) = %v, want Conflict", err)
	}
	if l := e.lastLog(u.ID); l.TxID != late.TxID || l.Reason != authflow.ReasonNoResponse {
		t.Errorf("expired push log = %+v, want no_response", l)
	}
}

// TestCancelWhileWaiting: a synchronous push waiting in Auth returns the
// cancel's deny at once.
func TestCancelWhileWaiting(t *testing.T) {
	e, _ := pushEnv(t)
	au := e.app(e.user("dave", mfa.StatusActive), 0, false)
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	done := make(chan authflow.AuthResult, 1)
	go func() {
		res, err := e.Svc.Auth(ctx, authflow.AuthRequest{Integration: e.In, Who: authflow.Who{Username: "dave"},
			Factor: mfa.FactorPush, Device: "auto"})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// The app's long poll returns when the push starts.
	reqs, err := e.Svc.PendingRequests(ctx, au, authflow.MaxDeviceWait)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("PendingRequests = %+v, %v, want the push", reqs, err)
	}
	txid := reqs[0].Transaction.ID
	if err := e.Svc.Cancel(ctx, e.In, txid); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.Result != authflow.ResultDeny || res.StatusMsg != authflow.MsgCancelled || res.TxID != txid {
			t.Errorf("waiting Auth after cancel = %+v", res)
		}
	case <-ctx.Done():
		t.Fatal("Auth did not return after the cancel")
	}
}
