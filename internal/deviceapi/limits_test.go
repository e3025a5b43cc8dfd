package deviceapi_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// heldStore holds every Subscribe (the first thing a long poll does,
// after taking its slot) until release is closed, telling entered.
type heldStore struct {
	*sqlstore.Store
	entered chan struct{}
	release chan struct{}
}

func (s *heldStore) Subscribe(topic string) (<-chan struct{}, func()) {
	select {
	case s.entered <- struct{}{}:
		<-s.release
	case <-s.release: // released: nothing holds any more
	}
	return s.Store.Subscribe(topic)
}

// TestLongPollCapPerInstall: one install may hold DefaultInstallPolls
// waiting polls; one more is refused at once with 429, Retry-After and a
// message naming the cause, and a slot freed is usable again. Before, one
// device could hold every poll the server would run.
func TestLongPollCapPerInstall(t *testing.T) {
	t.Parallel()
	held := &heldStore{entered: make(chan struct{}), release: make(chan struct{})}
	f := newFixtureWith(t, fixtureConfig{Wrap: func(s *sqlstore.Store) mfa.Store { held.Store = s; return held }})
	u := f.user("alice")
	d := f.activate(f.code(u, "", time.Now().Add(time.Hour)), 0)
	other := f.activate(f.code(f.user("bob"), "", time.Now().Add(time.Hour)), 1)

	poll := func(d *device) envelope {
		return f.signed(d, http.MethodGet, txPath, url.Values{"akey": {d.AKey}, "wait": {"1"}})
	}
	var wg sync.WaitGroup
	answers := make([]envelope, authflow.DefaultInstallPolls)
	for i := range answers {
		wg.Go(func() { answers[i] = poll(d) })
	}
	for range answers {
		<-held.entered // every slot of d's is taken
	}
	e := poll(d)
	wantFail(t, "one poll too many", e, 429, 42901, "wait: too many long polls are waiting for this device")
	if got := e.Header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	// Another install is not affected, and a poll without wait takes no
	// slot (each passes the held Subscribe once released).
	others := make(chan envelope, 2)
	go func() { others <- poll(other) }()
	go func() { others <- f.signed(d, http.MethodGet, txPath, url.Values{"akey": {d.AKey}}) }()
	<-held.entered
	<-held.entered
	close(held.release)
	wantOK(t, "another install's poll, or d's without wait", <-others)
	wantOK(t, "another install's poll, or d's without wait", <-others)
	wg.Wait()
	for _, e := range answers {
		wantOK(t, "a held poll", e)
	}
	wantOK(t, "d's poll once the others ended", poll(d))
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// TestTouchThrottled: a signed request writes the install's last contact
// only when the stored one is at least TouchEvery old. Before, every
// request (every poll) was a write.
func TestTouchThrottled(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	t0 := time.Now().Truncate(time.Second)
	clk.Set(t0)
	f := newFixtureWith(t, fixtureConfig{Now: clk.Now})
	d := f.activate(f.code(f.user("alice"), "", t0.Add(time.Hour)), 0)
	lastSeen := func() time.Time {
		t.Helper()
		au, err := f.Store.GetAuthenticator(t.Context(), d.PKey)
		if err != nil {
			t.Fatal(err)
		}
		return au.LastSeen
	}
	tests := []struct {
		advance time.Duration
		want    time.Time
	}{
		{0, t0},
		{30 * time.Second, t0}, // within TouchEvery: no write
		{31 * time.Second, t0.Add(61 * time.Second)}, // past it: written
		{10 * time.Second, t0.Add(61 * time.Second)}, // throttled again
		{authflow.TouchEvery, t0.Add(131 * time.Second)},
	}
	for _, tt := range tests {
		clk.Add(tt.advance)
		wantOK(t, "list", f.signed(d, http.MethodGet, txPath, url.Values{"akey": {d.AKey}}))
		if got := lastSeen(); !got.Equal(tt.want) {
			t.Errorf("at +%s: LastSeen = %s, want %s", clk.Now().Sub(t0), got, tt.want)
		}
	}
}

// countingStore counts CompleteActivation calls (the write transaction).
type countingStore struct {
	*sqlstore.Store
	completes atomic.Int32
}

func (s *countingStore) CompleteActivation(ctx context.Context, code mfa.Passcode, now time.Time, p mfa.Phone, a mfa.Authenticator) (mfa.Activation, mfa.Authenticator, error) {
	s.completes.Add(1)
	return s.Store.CompleteActivation(ctx, code, now, p, a)
}

// TestActivateChecksCodeBeforeWriting: a code of the wrong shape, an
// unknown, used or expired one is refused (404, 40403) without the write
// transaction that redeeming is. Before, each one took it.
func TestActivateChecksCodeBeforeWriting(t *testing.T) {
	t.Parallel()
	cs := &countingStore{}
	f := newFixtureWith(t, fixtureConfig{Wrap: func(s *sqlstore.Store) mfa.Store { cs.Store = s; return cs }})
	u := f.user("alice")
	used := f.code(u, "", time.Now().Add(time.Hour))
	f.activate(used, 0)
	expired := f.code(f.user("bob"), "", time.Now().Add(-time.Second))
	cs.completes.Store(0)
	for name, code := range map[string]string{
		"wrong alphabet": "AAAAAAAAAA_AAAAAAAAA",
		"unknown":        "AAAAAAAAAABBBBBBBBBB",
		"used":           used,
		"expired":        expired,
	} {
		wantFail(t, "activate with a code "+name, f.activateRaw(code, activationParams(t, testKey(t, 1))), 404, 40403, "")
	}
	if n := cs.completes.Load(); n != 0 {
		t.Errorf("CompleteActivation ran %d times for codes that cannot be redeemed, want 0", n)
	}
}
