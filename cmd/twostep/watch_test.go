package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/deviceclient/deviceclienttest"
)

// loginTx is a typical request.
var loginTx = deviceclienttest.Tx{
	Summary: "Login request to VPN for alice", Application: "VPN", Username: "alice", IP: "198.51.100.7",
	Hostname: "vpn1", Time: 1795299940, PushInfo: [][]string{{"Server", "db1"}},
}

// watching is a `twostep watch` running in the background.
type watching struct {
	stdin  *io.PipeWriter
	input  chan string // written to stdin in order, by one goroutine
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

func (h *harness) watch(args ...string) *watching {
	pr, pw := io.Pipe()
	w := &watching{stdin: pw, input: make(chan string, 100), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	go func() {
		for s := range w.input {
			if _, err := io.WriteString(pw, s); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	a := h.newApp(pr, w.stdout, w.stderr)
	go func() { w.done <- a.run(ctx, append([]string{"watch"}, args...)) }()
	h.t.Cleanup(func() {
		cancel()
		pw.Close()
	})
	return w
}

// say writes answers to the app's stdin, in order, in the background (the
// pipe blocks until the app reads).
func (w *watching) say(lines ...string) {
	w.input <- strings.Join(lines, "\n") + "\n"
}

// stop interrupts the app and returns its exit status.
func (w *watching) stop(t *testing.T) int {
	t.Helper()
	w.cancel()
	w.stdin.Close()
	return within(t, w.done, "watch to stop")
}

func TestWatchApproveDenyFraudVerified(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	w := h.watch()
	within(t, s.Polling(), "watch to poll")

	// Approve a Verified Push, after a wrong code.
	tx1 := s.Push(pkey, loginTx, "417")
	w.say("a", "999", "417")
	got := within(t, s.Answered(), "the first answer")
	if diff := cmp.Diff(deviceclienttest.Answer{PKey: pkey, URGID: tx1.URGID, Answer: "approve", StepUpCode: "417"}, got); diff != "" {
		t.Errorf("first answer (-want +got):\n%s", diff)
	}

	// Deny and report fraud.
	tx2 := s.Push(pkey, deviceclienttest.Tx{Summary: "Login request to SSH for alice", Application: "SSH"}, "")
	w.say("d", "y")
	got = within(t, s.Answered(), "the second answer")
	if diff := cmp.Diff(deviceclienttest.Answer{PKey: pkey, URGID: tx2.URGID, Answer: "deny", Fraud: true}, got); diff != "" {
		t.Errorf("second answer (-want +got):\n%s", diff)
	}

	// Deny, not fraud.
	tx3 := s.Push(pkey, deviceclienttest.Tx{}, "")
	w.say("nonsense", "deny", "")
	got = within(t, s.Answered(), "the third answer")
	if diff := cmp.Diff(deviceclienttest.Answer{PKey: pkey, URGID: tx3.URGID, Answer: "deny"}, got); diff != "" {
		t.Errorf("third answer (-want +got):\n%s", diff)
	}
	w.stdout.waitFor(t, "Denied: login request "+tx3.URGID)

	if code := w.stop(t); code != 0 {
		t.Errorf("watch exit = %d, want 0 after Ctrl-C\n%s", code, w.stderr)
	}
	out := w.stdout.String()
	for _, want := range []string{
		"Login request to VPN for alice  [Example Corp (alice)]",
		"Application: VPN", "User:        alice", "Client IP:   198.51.100.7", "Hostname:    vpn1",
		"Time:        2026-11-21 22:25:40 UTC", "Server:      db1",
		"Enter the 3 digits shown on the login screen", "Incorrect verification code. Try again",
		"Approved: Login request to VPN for alice",
		"Report this request as fraud (you did not try to log in)? [y/N]",
		"Denied and reported as fraud: Login request to SSH for alice",
		"Please answer a (approve), d (deny) or s (skip).",
		"Denied: login request " + tx3.URGID,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("watch output lacks %q:\n%s", want, out)
		}
	}
}

func TestWatchSurvivesNetworkErrors(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	s.FailNextLists(503, 0, 0, 502)
	w := h.watch()
	s.Push(pkey, loginTx, "")
	w.say("a")
	within(t, s.Answered(), "the answer")
	w.stop(t)
	errs := w.stderr.String()
	for _, want := range []string{`"Example Corp (alice)": cannot reach ` + s.Host, "retrying in 1s", "retrying in 2s",
		"connected to " + s.Host + " again"} {
		if !strings.Contains(errs, want) {
			t.Errorf("watch stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestWatchSkipsAndDoesNotRepeat(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	tx1 := s.Push(pkey, loginTx, "")
	w := h.watch()
	w.say("s")
	// The skipped request stays pending; the next one is asked about, not
	// the skipped one again.
	tx2 := s.Push(pkey, deviceclienttest.Tx{Summary: "second"}, "")
	w.say("a")
	got := within(t, s.Answered(), "an answer")
	if got.URGID != tx2.URGID {
		t.Errorf("answered %s, want the second request %s (the first was skipped)", got.URGID, tx2.URGID)
	}
	w.stop(t)
	if n := strings.Count(w.stdout.String(), tx1.URGID); n != 1 {
		t.Errorf("the skipped request was shown %d times, want 1:\n%s", n, w.stdout)
	}
}

func TestWatchRevoked(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	s.Revoke(pkey)
	w := h.watch()
	code := within(t, w.done, "watch to give up")
	if code != exitRevoked {
		t.Errorf("watch exit = %d, want %d", code, exitRevoked)
	}
	errs := w.stderr.String()
	for _, want := range []string{"no longer activated", "twostep activate"} {
		if !strings.Contains(errs, want) {
			t.Errorf("watch stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestWatchStdinClosed(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	s.Push(pkey, loginTx, "")
	var out, errb syncBuffer
	code := h.newApp(strings.NewReader(""), &out, &errb).run(context.Background(), []string{"watch"})
	if code != 1 || !strings.Contains(errb.String(), "standard input is closed") {
		t.Errorf("watch with closed stdin: exit %d\n%s", code, errb.String())
	}
}

func TestPendingApproveDeny(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)

	r := h.ok("", "pending")
	if strings.TrimSpace(r.stdout) != "No login requests are waiting." {
		t.Errorf("pending = %q", r.stdout)
	}
	h.fails(1, []string{"no login requests are waiting"}, "", "approve")

	tx1 := s.Push(pkey, loginTx, "")
	r = h.ok("", "approve")
	if !strings.Contains(r.stdout, "Approved: Login request to VPN for alice") {
		t.Errorf("approve:\n%s", r)
	}

	tx2 := s.Push(pkey, deviceclienttest.Tx{Summary: "two"}, "")
	tx3 := s.Push(pkey, deviceclienttest.Tx{Summary: "three"}, "628")
	r = h.fails(2, []string{"2 login requests are waiting"}, "", "deny")
	if !strings.Contains(r.stdout, tx2.URGID) || !strings.Contains(r.stdout, tx3.URGID) {
		t.Errorf("deny with two waiting does not list them:\n%s", r)
	}
	var pending []txJSON
	h.jsonOut(&pending, "pending", "--json")
	if len(pending) != 2 || pending[0].TxID != tx2.URGID || pending[1].VerifiedPushDigits != 3 || pending[0].Account != "Example Corp (alice)" {
		t.Errorf("pending --json = %+v", pending)
	}

	h.ok("", "deny", "--fraud", tx2.URGID)
	h.fails(2, []string{"Verified Push", "--code", "3 digits"}, "", "approve", tx3.URGID)
	h.fails(2, []string{"--code must be the 3 digits"}, "", "approve", "--code", "12", tx3.URGID)
	h.fails(1, []string{"incorrect verification code", "still waiting"}, "", "approve", "--code", "111", tx3.URGID)
	h.ok("", "approve", "--account", "example corp (alice)", "--code", "628", tx3.URGID)
	h.fails(1, []string{"no login request", tx1.URGID}, "", "approve", tx1.URGID)

	want := []deviceclienttest.Answer{
		{PKey: pkey, URGID: tx1.URGID, Answer: "approve"},
		{PKey: pkey, URGID: tx2.URGID, Answer: "deny", Fraud: true},
		{PKey: pkey, URGID: tx3.URGID, Answer: "approve", StepUpCode: "628"},
	}
	if diff := cmp.Diff(want, s.Answers()); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

func TestRevokedCommands(t *testing.T) {
	h := newHarness(t)
	s := h.server()
	pkey := h.activate(s, activation)
	s.Push(pkey, loginTx, "")
	s.Revoke(pkey)
	for _, args := range [][]string{{"pending"}, {"approve"}, {"deny"}} {
		h.fails(exitRevoked, []string{"no longer activated", "twostep activate"}, "", args...)
	}
	// Reactivating fixes it.
	h.ok("", "activate", s.AddActivation(activation))
	h.ok("", "pending")
}

func TestAnswerNeedsTwostepAccount(t *testing.T) {
	h := newHarness(t)
	h.ok("", "add", "otpauth://totp/Site:bob?secret=JBSWY3DPEHPK3PXP")
	h.fails(1, []string{"no twostep accounts"}, "", "pending")
	h.fails(1, []string{"third-party account"}, "", "watch", "--account", "Site:bob")
}
