package authapi_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
)

// heldStore holds every Subscribe (the first thing a waiting auth_status
// poll does, after taking its slot) until release is closed, telling
// entered.
type heldStore struct {
	*sqlstore.Store
	entered chan struct{}
	release chan struct{}
}

func (s *heldStore) Subscribe(topic string) (<-chan struct{}, func()) {
	select {
	case s.entered <- struct{}{}:
		<-s.release
	case <-s.release:
	}
	return s.Store.Subscribe(topic)
}

// status makes one signed auth_status call without Duo's client (which
// would retry a 429 by itself).
func (f *fixture) status(txid string) (*http.Response, envelope) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+f.Host+"/auth/v2/auth_status?"+url.Values{"txid": {txid}}.Encode(), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := duoproto.SignRequest(req, f.Key.IKey, string(f.Key.SKey.Reveal()), 2, nil); err != nil {
		f.t.Fatal(err)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.pool}}}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Errorf("auth_status: %v", err)
		return nil, envelope{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e envelope
	if err := json.Unmarshal(raw, &e); err != nil {
		f.t.Errorf("auth_status: %q is not a Duo envelope", raw)
	}
	e.Status = resp.StatusCode
	return resp, e
}

// TestStatusPollCapPerIntegration: an integration may hold its configured
// number of waiting auth_status polls on a node; one more is refused at
// once with 429 and Retry-After; a first poll (which answers at once) and
// a poll of a final transaction take no slot.
func TestStatusPollCapPerIntegration(t *testing.T) {
	const limit = 2
	held := &heldStore{entered: make(chan struct{}), release: make(chan struct{})}
	f := newFixtureWrapped(t, func(s *sqlstore.Store) mfa.Store { held.Store = s; return held },
		authflow.WithPollLimits(0, limit))
	var txids []string
	for _, name := range []string{"alice", "bob", "carol"} {
		u := f.user(name, mfa.StatusActive)
		f.app(u, []byte("12345678901234567890"), false)
		txids = append(txids, pushAsync(t, f, name))
	}
	for _, txid := range txids { // the first poll answers at once
		if _, e := f.status(txid); e.Status != 200 {
			t.Fatalf("first auth_status = %d %+v, want 200", e.Status, e)
		}
	}
	var wg sync.WaitGroup
	for _, txid := range txids[:limit] {
		wg.Go(func() { f.status(txid) })
	}
	for range limit {
		<-held.entered
	}
	resp, e := f.status(txids[limit])
	if e.Status != 429 || e.Code != 42901 || resp.Header.Get("Retry-After") != "5" {
		t.Errorf("auth_status over the cap = %d %d Retry-After %q, want 429 42901 Retry-After 5", e.Status, e.Code, resp.Header.Get("Retry-After"))
	}
	// A final transaction answers without a slot.
	if _, err := f.Store.CompleteTransaction(t.Context(), txids[limit], mfa.TxOutcome{State: mfa.TxDeny, Status: "deny",
		StatusMsg: "denied", At: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	if _, e := f.status(txids[limit]); e.Status != 200 {
		t.Errorf("auth_status of a final transaction while the cap is reached = %d %+v, want 200", e.Status, e)
	}
	// End the held polls.
	for _, txid := range txids[:limit] {
		if _, err := f.Store.CompleteTransaction(t.Context(), txid, mfa.TxOutcome{State: mfa.TxDeny, Status: "deny",
			StatusMsg: "denied", At: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(held.release)
	wg.Wait()
}
