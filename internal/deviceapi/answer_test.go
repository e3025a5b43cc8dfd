package deviceapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestAnswerApprove(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	res := f.push(u)
	if st := f.status(res.TxID); st.Result != authflow.ResultWaiting || st.Status != authflow.StatusPushed {
		t.Fatalf("auth status before the answer = %+v, want waiting/pushed", st)
	}

	e := f.answer(d, res.TxID, approve())
	wantOK(t, "approve", e)
	if string(e.Response) != `{"result":"SUCCESS"}` {
		t.Errorf("approve response = %s, want {\"result\":\"SUCCESS\"}", e.Response)
	}
	if st := f.status(res.TxID); st.Result != authflow.ResultAllow || st.Status != authflow.StatusAllow || st.StatusMsg != authflow.MsgApproved {
		t.Errorf("auth status = %+v, want allow/allow %q", st, authflow.MsgApproved)
	}
	for _, again := range []url.Values{approve(), deny(), {"answer": {"deny"}, "fraud": {"true"}}} {
		e := f.answer(d, res.TxID, again)
		wantFail(t, "answer "+again.Encode()+" after approve", e, 400, 40002, "")
		if e.MessageDetail != "transaction: already answered" {
			t.Errorf("message_detail = %q, want \"transaction: already answered\"", e.MessageDetail)
		}
	}
	if st := f.status(res.TxID); st.Result != authflow.ResultAllow {
		t.Errorf("auth status after more answers = %+v, want still allow", st)
	}
	if got := f.list(d, 0); len(got) != 0 {
		t.Errorf("list after the answer = %+v", got)
	}
}

func TestAnswerDeny(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	res := f.push(u)
	wantOK(t, "deny", f.answer(d, res.TxID, url.Values{"answer": {"deny"}, "fraud": {"false"}}))
	if st := f.status(res.TxID); st.Result != authflow.ResultDeny || st.Status != authflow.StatusDeny || st.StatusMsg != authflow.MsgDenied {
		t.Errorf("auth status = %+v, want deny/deny %q", st, authflow.MsgDenied)
	}
	p, err := f.Store.GetPhone(t.Context(), d.AKey)
	if err != nil || p.PushMuted(time.Now()) {
		t.Errorf("phone after a plain deny = %+v, %v, want pushes not muted", p, err)
	}
}

func TestAnswerFraud(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	res := f.push(u)
	wantOK(t, "deny as fraud", f.answer(d, res.TxID, url.Values{"answer": {"deny"}, "fraud": {"true"}}))
	if st := f.status(res.TxID); st.Result != authflow.ResultDeny || st.Status != authflow.StatusFraud {
		t.Errorf("auth status = %+v, want deny/fraud", st)
	}
	p, err := f.Store.GetPhone(t.Context(), d.AKey)
	if err != nil {
		t.Fatal(err)
	}
	if !p.PushMutedUntil.After(time.Now().Add(19 * time.Minute)) {
		t.Errorf("PushMutedUntil = %v, want about 20 minutes from now", p.PushMutedUntil)
	}
	logs, _, err := f.Store.ListAuthLog(t.Context(), mfa.AuthLogFilter{UserIDs: []string{u.ID}, Results: []mfa.AuthResult{mfa.ResultFraud}})
	if err != nil || len(logs) != 1 || logs[0].Reason != authflow.ReasonUserFraud || logs[0].TxID != res.TxID {
		t.Errorf("fraud auth log = %+v, %v, want one user_marked_fraud record for %s", logs, err, res.TxID)
	}
	// Pushes to the phone are paused now.
	next, err := f.Flow.Auth(t.Context(), f.pushReq(u))
	if err != nil || next.Result != authflow.ResultDeny || next.StatusMsg != authflow.MsgMuted {
		t.Errorf("push after a fraud report = %+v, %v, want deny %q", next, err, authflow.MsgMuted)
	}
}

func TestAnswerBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	res := f.push(u)
	tests := []struct {
		name   string
		give   url.Values
		mod    func(*signSpec)
		detail string
	}{
		{"answer maybe", url.Values{"answer": {"maybe"}}, nil, "answer"},
		{"answer upper case", url.Values{"answer": {"APPROVE"}}, nil, "answer"},
		{"answer missing", url.Values{}, nil, "answer"},
		{"answer empty", url.Values{"answer": {""}}, nil, "answer"},
		{"fraud with approve", url.Values{"answer": {"approve"}, "fraud": {"true"}}, nil, "fraud"},
		{"fraud=1 with approve", url.Values{"answer": {"approve"}, "fraud": {"1"}}, nil, "fraud"},
		{"fraud yes", url.Values{"answer": {"deny"}, "fraud": {"yes"}}, nil, "fraud"},
		{"txId header of another transaction", approve(), func(s *signSpec) { s.Header.Set("txId", mfaTxID(t)) }, "txId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*signSpec)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			wantFail(t, "answer("+tt.name+")", f.answer(d, res.TxID, tt.give, mods...), 400, 40002, tt.detail)
		})
	}
	// None of them answered it.
	if st := f.status(res.TxID); st.Result != authflow.ResultWaiting {
		t.Errorf("auth status after bad answers = %+v, want waiting", st)
	}
	if got := f.list(d, 0); len(got) != 1 {
		t.Errorf("list after bad answers = %+v, want the request still pending", got)
	}
	// Without a txId header (it is optional) the answer is taken.
	wantOK(t, "approve without txId", f.answer(d, res.TxID, approve(), func(s *signSpec) { s.Header.Del("txId") }))
	if st := f.status(res.TxID); st.Result != authflow.ResultAllow {
		t.Errorf("auth status = %+v, want allow", st)
	}
}

func mfaTxID(t *testing.T) string {
	t.Helper()
	b := []byte(newID(t, "")) // 18 random characters
	return "5ac6ec7f-0000-4000-8000-" + string(b[:12])
}

func TestAnswerUnknownTransaction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, d := f.enroll("alice", 0)
	for _, txid := range []string{mfaTxID(t), "x", "5ac6ec7f-0000-4000-8000-000000000000"} {
		wantFail(t, "answer "+txid, f.answer(d, txid, approve()), 404, 40401, "")
	}
	// An unsigned answer is refused before the transaction is looked up.
	e := f.answer(d, mfaTxID(t), approve(), func(s *signSpec) { s.Auth = ptr("") })
	wantFail(t, "unsigned answer", e, 401, 40101, "")
}

func TestAnswerVerifiedPush(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	f.settings(func(s *mfa.Settings) { s.VerifiedPush = true })
	res := f.push(u, func(r *authflow.AuthRequest) { r.VerifiedPush = true })
	if len(res.VerificationCode) != 3 {
		t.Fatalf("verification code = %q, want 3 digits", res.VerificationCode)
	}
	if got := f.list(d, 0); len(got) != 1 || string(got[0].StepUp) != `{"num_digits":3}` {
		t.Fatalf("list = %+v, want one request with step_up_code_info {\"num_digits\":3}", got)
	}
	wrong := []byte(res.VerificationCode)
	wrong[2] = '0' + (wrong[2]-'0'+1)%10
	for _, give := range []url.Values{
		{"answer": {"approve"}, "step_up_code": {string(wrong)}},
		{"answer": {"approve"}},
		{"answer": {"approve"}, "step_up_code": {res.VerificationCode + "0"}},
	} {
		e := f.answer(d, res.TxID, give)
		wantFail(t, "approve with "+give.Encode(), e, 400, 40032, "")
		if e.Message != "Incorrect verification code" {
			t.Errorf("message = %q, want \"Incorrect verification code\"", e.Message)
		}
	}
	// Still pending: the user may try again.
	if st := f.status(res.TxID); st.Result != authflow.ResultWaiting {
		t.Errorf("auth status after wrong codes = %+v, want waiting", st)
	}
	if got := f.list(d, 0); len(got) != 1 {
		t.Errorf("list after wrong codes = %+v, want the request", got)
	}
	wantOK(t, "approve with the right code", f.answer(d, res.TxID,
		url.Values{"answer": {"approve"}, "step_up_code": {res.VerificationCode}, "step_up_code_autofilled": {"false"}}))
	if st := f.status(res.TxID); st.Result != authflow.ResultAllow {
		t.Errorf("auth status = %+v, want allow", st)
	}

	// Denying needs no code.
	res = f.push(u, func(r *authflow.AuthRequest) { r.VerifiedPush = true })
	wantOK(t, "deny without a code", f.answer(d, res.TxID, deny()))
}

// expiredPush starts a push with a 1 s timeout and waits (bounded) until
// it has expired without anything recording that.
func expiredPush(t *testing.T, f *fixture, u mfa.User, d *device) string {
	t.Helper()
	f.settings(func(s *mfa.Settings) { s.PushTimeout = time.Second })
	res := f.push(u)
	got := f.list(d, 0)
	if len(got) != 1 {
		t.Fatalf("list = %+v, want the push", got)
	}
	exp := time.Unix(got[0].Expiration, 0)
	waitFor(t, 10*time.Second, "push expiry", func() bool {
		return time.Now().After(exp.Add(100*time.Millisecond)) && len(f.list(d, 0)) == 0
	})
	return res.TxID
}

func TestAnswerExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	txid := expiredPush(t, f, u, d)
	e := f.answer(d, txid, approve())
	wantFail(t, "approve an expired request", e, 400, 40002, "")
	if e.MessageDetail != "transaction: expired" {
		t.Errorf("message_detail = %q, want \"transaction: expired\"", e.MessageDetail)
	}
	if st := f.status(txid); st.Result != authflow.ResultDeny || st.Status != authflow.StatusTimeout {
		t.Errorf("auth status = %+v, want deny/timeout", st)
	}
}

// TestAnswerExpiredAfterTimeoutRecorded: once the reaper (or a waiting
// auth_status poll) has recorded the timeout, a late answer is still told
// the request expired, not that it was answered (docs/device-api.md).
func TestAnswerExpiredAfterTimeoutRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)

	t.Run("reaper", func(t *testing.T) {
		txid := expiredPush(t, f, u, d)
		if n, err := f.Flow.ExpireTransactions(t.Context()); err != nil || n != 1 {
			t.Fatalf("ExpireTransactions = %d, %v, want 1", n, err)
		}
		e := f.answer(d, txid, approve())
		wantFail(t, "approve after the reaper", e, 400, 40002, "")
		if e.MessageDetail != "transaction: expired" {
			t.Errorf("message_detail = %q, want \"transaction: expired\"", e.MessageDetail)
		}
	})
	t.Run("answered twice", func(t *testing.T) {
		txid := expiredPush(t, f, u, d)
		for i := range 2 {
			e := f.answer(d, txid, approve())
			if e.MessageDetail != "transaction: expired" {
				t.Errorf("answer %d to an expired request: message_detail = %q, want \"transaction: expired\"", i+1, e.MessageDetail)
			}
		}
	})
}

func TestAnswerConcurrentOneWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	res := f.push(u)
	const n = 10
	reqs := make([]*http.Request, n)
	for i := range reqs {
		give := approve()
		if i%2 == 1 {
			give = deny()
		}
		p := url.Values{"akey": {d.AKey}, "pkpush": {"rsa-sha512"}, "answer": give["answer"]}
		reqs[i] = f.signedRequest(t.Context(), d, http.MethodPost, txPath+"/"+res.TxID, p)
	}
	results := make([]envelope, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range reqs {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f.do(reqs[i])
		})
	}
	close(start)
	wg.Wait()
	won := -1
	for i, e := range results {
		switch {
		case errs[i] != nil:
			t.Errorf("answer %d: %v", i, errs[i])
		case e.Status == 200:
			if won >= 0 {
				t.Errorf("answers %d and %d both succeeded", won, i)
			}
			won = i
		case e.Status != 400 || e.MessageDetail != "transaction: already answered":
			t.Errorf("answer %d = %d %s, want 200 or 400 already answered", i, e.Status, e.Raw)
		}
	}
	if won < 0 {
		t.Fatal("no answer succeeded")
	}
	want := authflow.ResultAllow
	if won%2 == 1 {
		want = authflow.ResultDeny
	}
	if st := f.status(res.TxID); st.Result != want {
		t.Errorf("auth status = %+v, want %s (answer %d won)", st, want, won)
	}
}

// TestAnswerVerifiedPushGuessing: an app (or whoever holds its key) that
// tries Verified Push codes in parallel gets only MaxVerificationAttempts
// of them checked: two are answered "incorrect", the third incorrect one
// denies the login, with an auth log record and a failure toward the
// user's lockout, and every other one is refused unchecked. Before, every
// guess was checked and the right one was found.
func TestAnswerVerifiedPushGuessing(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixtureOn(t, b.dsn(t))
			u, d := f.enroll("alice", 0)
			f.settings(func(s *mfa.Settings) { s.VerifiedPush = true; s.LockoutThreshold = 10 })
			res := f.push(u, func(r *authflow.AuthRequest) { r.VerifiedPush = true })

			const guesses = 20
			var wrong []string
			for i := 0; len(wrong) < guesses; i++ {
				if g := fmt.Sprintf("%03d", i); g != res.VerificationCode {
					wrong = append(wrong, g)
				}
			}
			answers := make([]envelope, guesses)
			var wg sync.WaitGroup
			for i, g := range wrong {
				wg.Go(func() {
					answers[i] = f.answer(d, res.TxID, url.Values{"answer": {"approve"}, "step_up_code": {g}})
				})
			}
			wg.Wait()
			incorrect, refused := 0, 0
			for _, e := range answers {
				switch {
				case e.Status == 400 && e.Code == 40032:
					incorrect++
				case e.Status == 400 && e.Code == 40002 && strings.HasPrefix(e.MessageDetail, "step_up_code: too many incorrect verification codes"),
					e.Status == 400 && e.Code == 40002 && e.MessageDetail == "transaction: already answered": // raced the denial
					refused++
				default:
					t.Errorf("answer = %d %s, want 40032 or 40002 naming too many codes", e.Status, e.Raw)
				}
			}
			if incorrect != authflow.MaxVerificationAttempts-1 || refused != guesses-incorrect {
				t.Errorf("answers: %d incorrect, %d refused; want %d incorrect, %d refused",
					incorrect, refused, authflow.MaxVerificationAttempts-1, guesses-authflow.MaxVerificationAttempts+1)
			}
			// The right code now comes too late.
			e := f.answer(d, res.TxID, url.Values{"answer": {"approve"}, "step_up_code": {res.VerificationCode}})
			wantFail(t, "approve with the right code after the guesses", e, 400, 40002, "step_up_code: too many")
			if st := f.status(res.TxID); st.Result != authflow.ResultDeny || st.StatusMsg != authflow.MsgCodeAttempts {
				t.Errorf("auth status = %+v, want deny %q", st, authflow.MsgCodeAttempts)
			}
			logs, _, err := f.Store.ListAuthLog(t.Context(), mfa.AuthLogFilter{UserIDs: []string{u.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if len(logs) != 1 || logs[0].TxID != res.TxID || logs[0].Result != mfa.ResultFailure || logs[0].Reason != authflow.ReasonCodeAttempts {
				t.Errorf("auth log = %+v, want one failure %q for %s", logs, authflow.ReasonCodeAttempts, res.TxID)
			}
			if got, err := f.Store.GetUser(t.Context(), u.ID); err != nil || got.FailedAttempts != 1 {
				t.Errorf("user failed attempts = %d, %v, want 1 (the denied push counts toward the lockout)", got.FailedAttempts, err)
			}
		})
	}
}
