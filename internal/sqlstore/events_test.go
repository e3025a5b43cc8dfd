package sqlstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

const (
	eventWait  = 5 * time.Second        // bound on an event that must come
	eventQuiet = 200 * time.Millisecond // watch for one that must not, after a positive control
)

// waitEvent returns how long ch took to receive, failing t if it did not
// within eventWait.
func waitEvent(t *testing.T, what string, ch <-chan struct{}) time.Duration {
	t.Helper()
	start := time.Now()
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	select {
	case <-ch:
		return time.Since(start)
	case <-timer.C:
		t.Fatalf("%s: no event within %v", what, eventWait)
		return 0
	}
}

func noEvent(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	timer := time.NewTimer(eventQuiet)
	defer timer.Stop()
	select {
	case <-ch:
		t.Errorf("%s: got an event, want none", what)
	case <-timer.C:
	}
}

func newPhone(t *testing.T, s mfa.Store, id string) mfa.Phone {
	t.Helper()
	p := mfa.Phone{ID: id, Type: mfa.PhoneMobile, Number: "+15550001111", Created: epoch}
	must(t, "CreatePhone("+id+")", s.CreatePhone(t.Context(), p))
	return p
}

func newTx(t *testing.T, s mfa.Store, id, userID, phoneID string) mfa.Transaction {
	t.Helper()
	tx := mfa.Transaction{ID: id, UserID: userID, PhoneID: phoneID, Factor: mfa.FactorPush, State: mfa.TxPending,
		Status: "pushed", Created: epoch, Expires: epoch.Add(time.Minute)}
	must(t, "CreateTransaction("+id+")", s.CreateTransaction(t.Context(), tx))
	return tx
}

// TestEventsCrossNode runs two stores (two twostepd nodes, as far as the
// database can tell) on one PostgreSQL database: a change committed through
// one wakes the other's subscribers, which then read the change.
func TestEventsCrossNode(t *testing.T) {
	dsn := sqltest.FreshDatabaseDSN(t)
	kr := sqltest.Keyring(t)
	a := sqltest.Open(t, dsn, sqlstore.Options{Sealer: kr})
	must(t, "Migrate()", func() error { _, err := a.Migrate(t.Context()); return err }())
	b := sqltest.Open(t, dsn, sqlstore.Options{Sealer: kr})
	ctx := t.Context()
	u := newUser(t, b, "DUCROSSNODE000000001", "crossnode")
	p := newPhone(t, b, "DPCROSSNODE000000001")

	// CompleteTransaction on B wakes A's subscribers of the transaction and
	// of the phone, after the commit: A reads the outcome.
	const rounds = 20
	var fromCall, fromReturn []time.Duration
	phoneCh, cancelPhone := a.Subscribe(mfa.TopicPhone(p.ID))
	defer cancelPhone()
	for i := range rounds {
		id := fmt.Sprintf("tx-cross-%02d", i)
		txCh, cancelTx := a.Subscribe(mfa.TopicTransaction(id))
		// The creation's events first, so that what comes next is the
		// completion's.
		tx := newTx(t, b, id, u.ID, p.ID)
		waitEvent(t, "A's subscriber of the transaction, on its creation", txCh)
		waitEvent(t, "A's subscriber of the phone, on the creation", phoneCh)
		start := time.Now()
		_, err := b.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: epoch}, nil)
		must(t, "CompleteTransaction() on B", err)
		returned := time.Now()
		waitEvent(t, "A's subscriber of the transaction", txCh)
		got := time.Now()
		fromCall = append(fromCall, got.Sub(start))
		fromReturn = append(fromReturn, got.Sub(returned))
		waitEvent(t, "A's subscriber of the phone", phoneCh)
		read, err := a.GetTransaction(ctx, tx.ID)
		must(t, "GetTransaction() on A", err)
		if read.State != mfa.TxAllow {
			t.Errorf("GetTransaction() on A after the event = %s, want allow: the event came before the commit", read.State)
		}
		cancelTx()
	}
	slices.Sort(fromCall)
	slices.Sort(fromReturn)
	t.Logf("cross-node latency over %d rounds, from CompleteTransaction on B being called: min %v, median %v, max %v; "+
		"from its return: min %v, median %v, max %v", rounds, fromCall[0], fromCall[rounds/2], fromCall[rounds-1],
		fromReturn[0], fromReturn[rounds/2], fromReturn[rounds-1])
	if fromCall[rounds-1] > time.Second {
		t.Errorf("slowest cross-node event took %v, want within 1s", fromCall[rounds-1])
	}

	// Publish on B reaches A, and A's own Publish reaches A (through
	// LISTEN, like any node's).
	for _, from := range []*sqlstore.Store{b, a} {
		ch, cancel := a.Subscribe("test:publish")
		must(t, "Publish()", from.Publish(ctx, "test:publish"))
		waitEvent(t, "A's subscriber after Publish()", ch)
		cancel()
	}

	// A write that fails, or a transaction that rolls back after sending,
	// signals no one.
	txCh, cancelTx := a.Subscribe(mfa.TopicTransaction("tx-cross-failed"))
	defer cancelTx()
	tx := newTx(t, b, "tx-cross-failed", u.ID, p.ID)
	waitEvent(t, "A's subscriber of the transaction, on its creation", txCh)
	_, err := b.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxDeny, Status: "deny", At: epoch}, nil)
	must(t, "CompleteTransaction()", err)
	waitEvent(t, "A's subscriber of the transaction, on its completion", txCh)
	rolledBack, cancelRB := a.Subscribe("test:rolled-back")
	defer cancelRB()
	control, cancelControl := a.Subscribe("test:control")
	defer cancelControl()
	if err := b.SetTransactionStatus(ctx, tx.ID, "x", "x"); mfa.KindOf(err) != mfa.Conflict {
		t.Errorf("SetTransactionStatus(completed) = %v, want conflict", err)
	}
	if _, err := b.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: epoch}, nil); mfa.KindOf(err) != mfa.Conflict {
		t.Errorf("CompleteTransaction(completed) = %v, want conflict", err)
	}
	if err := sqlstore.NotifyAndRollBack(ctx, b, "test:rolled-back"); err == nil {
		t.Error("NotifyAndRollBack() = nil, want its error")
	}
	must(t, "Publish(control)", b.Publish(ctx, "test:control"))
	waitEvent(t, "control subscriber", control)
	noEvent(t, "subscriber of a transaction whose writes failed", txCh)
	noEvent(t, "subscriber of a topic sent in a rolled-back transaction", rolledBack)
}

// TestEventsListenerReconnect kills the listener's connection: the store
// reconnects, signals every subscriber (events may have been lost), and
// delivers events again.
func TestEventsListenerReconnect(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	s := sqltest.NewStore(t, dsn)
	ctx := t.Context()
	first, cancelFirst := s.Subscribe("test:first")
	defer cancelFirst()
	second, cancelSecond := s.Subscribe("test:second")
	defer cancelSecond()
	pid := sqlstore.ListenerPID(s)
	if pid == 0 {
		t.Fatal("ListenerPID() after Subscribe = 0, want the listening connection's backend")
	}
	// Nothing is signalled while the listener just listens.
	must(t, "Publish(control)", s.Publish(ctx, "test:first"))
	waitEvent(t, "subscriber after Publish()", first)
	noEvent(t, "subscriber of another topic", second)

	db := rawDB(t, dsn)
	var ok bool
	if err := db.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
	d1 := waitEvent(t, "first subscriber after the listener's connection dropped", first)
	d2 := waitEvent(t, "second subscriber after the listener's connection dropped", second)
	t.Logf("subscribers signalled %v and %v after the listener's backend was terminated", d1, d2)
	if now := sqlstore.ListenerPID(s); now == 0 || now == pid {
		t.Errorf("ListenerPID() after reconnecting = %d, want a new backend (was %d)", now, pid)
	}

	// Events flow again, and only to their topic's subscribers.
	must(t, "Publish()", s.Publish(ctx, "test:second"))
	waitEvent(t, "subscriber after the reconnection", second)
	noEvent(t, "subscriber of another topic after the reconnection", first)
}

// TestEventsClose: Close stops the listener goroutine and closes its
// connection; a store never subscribed to has no listener at all.
func TestEventsClose(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	ctx := t.Context()
	db := rawDB(t, dsn)
	listening := func(pid uint32) bool {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, int64(pid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}

	idle := sqltest.NewStore(t, sqltest.PostgresDSN(t))
	must(t, "Publish()", idle.Publish(ctx, "test:nobody"))
	if pid := sqlstore.ListenerPID(idle); pid != 0 {
		t.Errorf("ListenerPID() of a store never subscribed to = %d, want 0 (no listener)", pid)
	}

	s := sqltest.NewStore(t, dsn)
	_, cancel := s.Subscribe("test:close")
	defer cancel()
	pid := sqlstore.ListenerPID(s)
	if pid == 0 || !listening(pid) {
		t.Fatalf("ListenerPID() = %d, not a live backend", pid)
	}
	must(t, "Close()", s.Close())
	if !sqlstore.ListenerStopped(s) {
		t.Error("the listener goroutine still runs after Close()")
	}
	deadline := time.Now().Add(eventWait)
	for listening(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the server notices the closed connection on its own time
	}
	if listening(pid) {
		t.Errorf("the listener's backend %d is still connected %v after Close()", pid, eventWait)
	}
	// Subscribing to a closed store neither blocks nor restarts the listener.
	start := time.Now()
	_, cancel2 := s.Subscribe("test:after-close")
	cancel2()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Subscribe() on a closed store took %v", d)
	}
	if !sqlstore.ListenerStopped(s) || sqlstore.ListenerPID(s) != 0 {
		t.Error("Subscribe() on a closed store restarted the listener")
	}
}

// TestEventsAfterCommit: on every backend, a subscriber woken by a write
// reads the write (the event is published after the commit), and the hub
// forgets cancelled subscriptions.
func TestEventsAfterCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.open(t, b.dsn(t), sqlstore.Options{})
		ctx := t.Context()
		u := newUser(t, s, "DUAFTERCOMMIT0000001", "aftercommit")
		p := newPhone(t, s, "DPAFTERCOMMIT0000001")
		for i := range 30 {
			id := fmt.Sprintf("tx-after-commit-%02d", i)
			ch, cancel := s.Subscribe(mfa.TopicTransaction(id))
			go func() {
				_ = s.CreateTransaction(ctx, mfa.Transaction{ID: id, UserID: u.ID, PhoneID: p.ID, State: mfa.TxPending,
					Created: epoch, Expires: epoch.Add(time.Minute)})
			}()
			waitEvent(t, "subscriber of a new transaction", ch)
			if _, err := s.GetTransaction(ctx, id); err != nil {
				t.Fatalf("GetTransaction(%s) on waking = %v, want the committed transaction", id, err)
			}
			cancel()
		}

		// Bounded memory: cancelled subscriptions and their topics are gone.
		var cancels []func()
		for i := range 100 {
			_, cancel := s.Subscribe(fmt.Sprintf("test:mem-%d", i%10))
			cancels = append(cancels, cancel)
		}
		if topics, subs := sqlstore.HubSize(s); topics != 10 || subs != 100 {
			t.Errorf("HubSize() with 100 subscribers of 10 topics = %d topics, %d subscribers", topics, subs)
		}
		for _, cancel := range cancels {
			cancel()
			cancel() // cancelling twice is harmless
		}
		if topics, subs := sqlstore.HubSize(s); topics != 0 || subs != 0 {
			t.Errorf("HubSize() after cancelling every subscription = %d topics, %d subscribers, want 0, 0", topics, subs)
		}
	})
}
