package deviceapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestTransactionsList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	if got := f.list(d, 0); len(got) != 0 {
		t.Fatalf("list before any push = %+v, want []", got)
	}

	before := time.Now()
	first := f.push(u)
	second := f.push(u, func(r *authflow.AuthRequest) {
		r.PushType, r.DisplayUsername, r.IP, r.Hostname = "", "", "", ""
		r.PushInfo = "Amount=%2410&To=Bob+Smith&empty=&=novalue"
	})
	third := f.push(u, func(r *authflow.AuthRequest) { r.PushInfo = "" })

	got := f.list(d, 0)
	if len(got) != 3 {
		t.Fatalf("list = %d transactions, want 3: %+v", len(got), got)
	}
	for i, txid := range []string{first.TxID, second.TxID, third.TxID} {
		if got[i].TxID != txid {
			t.Fatalf("transaction %d = %s, want %s (oldest first)", i, got[i].TxID, txid)
		}
	}
	for _, tx := range got {
		if tx.URGID != tx.TxID {
			t.Errorf("urgid %q != txid %q", tx.URGID, tx.TxID)
		}
		created := time.Unix(tx.Time, 0)
		if created.Before(before.Add(-2*time.Second)) || created.After(time.Now().Add(time.Second)) {
			t.Errorf("time = %v, want about now", created)
		}
		exp := time.Unix(tx.Expiration, 0)
		if !exp.After(time.Now()) || exp.After(time.Now().Add(61*time.Second)) {
			t.Errorf("expiration = %v, want within the 60 s push timeout", exp)
		}
		if tx.PushInfo == nil {
			t.Errorf("pushinfo of %s is null, want a list", tx.TxID)
		}
		if len(tx.StepUp) != 0 {
			t.Errorf("step_up_code_info = %s without Verified Push", tx.StepUp)
		}
	}
	at := func(tx wireTx) string { return time.Unix(tx.Time, 0).UTC().Format(time.RFC3339) }
	want := []wireTx{{
		URGID: first.TxID, TxID: first.TxID, Type: "Transfer request",
		Summary:     "Transfer request to VPN for Alice A.",
		Application: "VPN", Username: "Alice A.", IP: "198.51.100.7", Hostname: "vpn1", AKey: d.AKey,
		Attributes: [][]string{{"Application", "VPN"}, {"Username", "Alice A."}, {"IP Address", "198.51.100.7"},
			{"Hostname", "vpn1"}, {"Time", at(got[0])}, {"Server", "db1"}, {"Command", "ls"}},
		PushInfo: [][]string{{"Server", "db1"}, {"Command", "ls"}},
	}, {
		URGID: second.TxID, TxID: second.TxID, Type: "Login request",
		Summary:     "Login request to VPN for alice",
		Application: "VPN", Username: "alice", AKey: d.AKey,
		Attributes: [][]string{{"Application", "VPN"}, {"Username", "alice"}, {"Time", at(got[1])},
			{"Amount", "$10"}, {"To", "Bob Smith"}, {"empty", ""}},
		PushInfo: [][]string{{"Amount", "$10"}, {"To", "Bob Smith"}, {"empty", ""}},
	}, {
		URGID: third.TxID, TxID: third.TxID, Type: "Transfer request",
		Summary:     "Transfer request to VPN for Alice A.",
		Application: "VPN", Username: "Alice A.", IP: "198.51.100.7", Hostname: "vpn1", AKey: d.AKey,
		Attributes: [][]string{{"Application", "VPN"}, {"Username", "Alice A."}, {"IP Address", "198.51.100.7"},
			{"Hostname", "vpn1"}, {"Time", at(got[2])}},
		PushInfo: [][]string{},
	}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(wireTx{}, "Time", "Expiration", "StepUp")); diff != "" {
		t.Errorf("transactions (-want +got):\n%s", diff)
	}

	// Answered and expired requests leave the list.
	wantOK(t, "deny first", f.answer(d, first.TxID, deny()))
	if got := f.list(d, 0); len(got) != 2 || got[0].TxID != second.TxID {
		t.Errorf("list after answering the first = %+v, want the other two", got)
	}
}

func TestTransactionsStepUpInfo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	tests := []struct {
		name      string
		setting   bool
		digits    int
		request   bool
		wantInfo  string // step_up_code_info JSON, "" for none
		wantCodeN int
	}{
		{"off, client asks", false, 3, true, "", 0},
		{"on, client does not ask", true, 3, false, "", 0},
		{"on, client asks", true, 3, true, `{"num_digits":3}`, 3},
		{"on, 6 digits", true, 6, true, `{"num_digits":6}`, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.settings(func(s *mfa.Settings) { s.VerifiedPush, s.VerifiedPushDigits = tt.setting, tt.digits })
			res := f.push(u, func(r *authflow.AuthRequest) { r.VerifiedPush = tt.request })
			if len(res.VerificationCode) != tt.wantCodeN {
				t.Errorf("verification code %q, want %d digits", res.VerificationCode, tt.wantCodeN)
			}
			var tx *wireTx
			for _, x := range f.list(d, 0) {
				if x.TxID == res.TxID {
					tx = &x
				}
			}
			if tx == nil {
				t.Fatalf("push %s not listed", res.TxID)
			}
			if got := strings.ReplaceAll(string(tx.StepUp), " ", ""); got != tt.wantInfo {
				t.Errorf("step_up_code_info = %q, want %q", got, tt.wantInfo)
			}
			wantOK(t, "deny", f.answer(d, res.TxID, deny()))
		})
	}
}

func TestTransactionsWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)

	t.Run("no wait", func(t *testing.T) {
		for _, wait := range []int{-1, 0} { // -1: no wait parameter
			start := time.Now()
			if got := f.list(d, wait); len(got) != 0 {
				t.Errorf("list = %+v", got)
			}
			if el := time.Since(start); el > 1500*time.Millisecond {
				t.Errorf("wait=%d took %s, want an answer at once", wait, el)
			}
		}
	})
	t.Run("wait 2 s, nothing pending", func(t *testing.T) {
		start := time.Now()
		got := f.list(d, 2)
		el := time.Since(start)
		if len(got) != 0 {
			t.Errorf("list = %+v, want []", got)
		}
		if el < 1500*time.Millisecond || el > 10*time.Second {
			t.Errorf("wait=2 took %s, want about 2 s", el)
		}
	})
	t.Run("wait 5 s, push after 200 ms", func(t *testing.T) {
		pushed := make(chan string, 1)
		go func() {
			time.Sleep(200 * time.Millisecond)
			res, err := f.Flow.Auth(context.Background(), f.pushReq(u))
			if err != nil {
				t.Errorf("Auth(push) = %v", err)
			}
			pushed <- res.TxID
		}()
		start := time.Now()
		got := f.list(d, 5)
		el := time.Since(start)
		txid := <-pushed
		if len(got) != 1 || got[0].TxID != txid {
			t.Fatalf("list = %+v, want the push %s", got, txid)
		}
		if el > 4*time.Second {
			t.Errorf("long poll answered after %s, want soon after the push (well before 5 s)", el)
		}
		wantOK(t, "deny", f.answer(d, txid, deny()))
	})
	t.Run("wait 30 s with a push pending answers at once", func(t *testing.T) {
		res := f.push(u)
		start := time.Now()
		if got := f.list(d, 30); len(got) != 1 || got[0].TxID != res.TxID {
			t.Errorf("list = %+v, want %s", got, res.TxID)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %s with a push pending", el)
		}
		wantOK(t, "deny", f.answer(d, res.TxID, deny()))
	})
	t.Run("bad wait", func(t *testing.T) {
		for _, give := range []string{"-1", "31", "x", "1.5", "3600", "99999999999999999999", " 1"} {
			e := f.signed(d, http.MethodGet, txPath, url.Values{"wait": {give}})
			wantFail(t, "GET transactions?wait="+give, e, 400, 40002, "wait")
		}
	})
}

func TestTransactionsOnlyOwnUserAndPhone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice, phoneA := f.enroll("alice", 0)
	_, bob := f.enroll("bob", 1)
	// alice's second phone, with its own install.
	phoneB := f.activate(f.code(alice, "", time.Now().Add(time.Hour)), 2)
	if phoneB.AKey == phoneA.AKey {
		t.Fatal("the second activation reused the first phone")
	}

	res := f.push(alice, func(r *authflow.AuthRequest) { r.Device = phoneA.AKey })
	if got := f.list(phoneA, 0); len(got) != 1 || got[0].TxID != res.TxID {
		t.Fatalf("alice's phone A lists %+v, want %s", got, res.TxID)
	}
	if got := f.list(bob, 1); len(got) != 0 {
		t.Errorf("bob's device lists %+v", got)
	}
	if got := f.list(phoneB, 0); len(got) != 0 {
		t.Errorf("alice's phone B lists %+v (the push went to phone A)", got)
	}
	wantFail(t, "bob answers alice's push", f.answer(bob, res.TxID, approve()), 404, 40401, "")
	wantFail(t, "phone B answers phone A's push", f.answer(phoneB, res.TxID, approve()), 404, 40401, "")
	if st := f.status(res.TxID); st.Result != authflow.ResultWaiting {
		t.Errorf("auth status = %+v, want still waiting", st)
	}
	wantOK(t, "phone A approves", f.answer(phoneA, res.TxID, approve()))
}

// TestLongPollClientGoneIsNotAnError: an app that quits (or a network that
// drops) during a long poll is normal, not an internal server error.
func TestLongPollClientGoneIsNotAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, d := f.enroll("alice", 0)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req := f.signedRequest(ctx, d, http.MethodGet, txPath, url.Values{"wait": {"5"}})
	resp, err := f.HC.Do(req)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
	case err == nil:
		// The server saw the hang-up and ended the handler without an
		// answer at the moment the client gave up: a race the client
		// may see as an empty 200. Never as a server error.
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 || len(body) > 0 {
			t.Fatalf("GET transactions?wait=5 with a 300 ms client deadline = %d %s, want the client to give up", resp.StatusCode, body)
		}
	default:
		t.Fatalf("GET transactions?wait=5 with a 300 ms client deadline = %v, want the client to give up", err)
	}
	// The server notices the closed connection at once; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if logs := f.Logs.String(); strings.Contains(logs, "level=ERROR") {
			t.Fatalf("a client hanging up on a long poll was logged as an error:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seen: the app's long poll waits for a request it does not show yet.
func TestTransactionsSeen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, d := f.enroll("alice", 0)
	first := f.push(u).TxID
	list := func(wait int, seen ...string) ([]wireTx, time.Duration) {
		t.Helper()
		params := url.Values{"wait": {strconv.Itoa(wait)}, "seen": {strings.Join(seen, ",")}}
		start := time.Now()
		e := f.signed(d, http.MethodGet, txPath, params)
		if e.Status != 200 {
			t.Fatalf("GET transactions = %d %s", e.Status, e.Raw)
		}
		var out struct {
			Transactions []wireTx `json:"transactions"`
		}
		e.decode(t, &out)
		return out.Transactions, time.Since(start)
	}
	// Everything pending is seen: the poll waits out its time, then lists it.
	got, el := list(2, first)
	if len(got) != 1 || got[0].TxID != first || el < 1500*time.Millisecond {
		t.Errorf("seen-only poll = %d requests after %s, want the one after about 2 s", len(got), el)
	}
	// A new request ends the wait at once, and both are listed.
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		time.Sleep(200 * time.Millisecond)
		f.push(u)
	}()
	got, el = list(10, first)
	<-pushed // the push's own writes end before the test's store closes
	if len(got) != 2 || el > 5*time.Second {
		t.Errorf("poll with a new request = %d requests after %s, want 2 well before 10 s", len(got), el)
	}
	// Too many ids is a bad request naming seen.
	many := make([]string, 101)
	for i := range many {
		many[i] = first
	}
	e := f.signed(d, http.MethodGet, txPath, url.Values{"seen": {strings.Join(many, ",")}})
	wantFail(t, "101 seen ids", e, 400, 40002, "seen")
}
