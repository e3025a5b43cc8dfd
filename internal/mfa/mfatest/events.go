package mfatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func eventTests() []storeTest {
	return []storeTest{
		{"TransactionTopics", testEventsTransactionTopics},
		{"Publish", testEventsPublish},
		{"Cancel", testEventsCancel},
		{"Coalesce", testEventsCoalesce},
		{"Concurrent", testEventsConcurrent},
	}
}

const (
	// eventWait bounds the wait for an event that must come. Delivery is
	// normally a matter of milliseconds, also across PostgreSQL nodes.
	eventWait = 5 * time.Second
	// eventQuiet is how long the suite watches for an event that must not
	// come, always after a positive control has shown that events flow.
	eventQuiet = 200 * time.Millisecond
)

// awaitEvent reports whether ch receives within eventWait.
func awaitEvent(ch <-chan struct{}) bool {
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
		return false
	}
}

// wantEvent fails t unless ch receives within eventWait.
func wantEvent(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	if !awaitEvent(ch) {
		t.Errorf("%s: no event within %v, want one", what, eventWait)
	}
}

// wantNoEvent fails t if ch receives within eventQuiet.
func wantNoEvent(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	timer := time.NewTimer(eventQuiet)
	defer timer.Stop()
	select {
	case <-ch:
		t.Errorf("%s: got an event, want none", what)
	case <-timer.C:
	}
}

// subscribe subscribes to topic and cancels the subscription when the test
// ends.
func subscribe(t *testing.T, s mfa.Store, topic string) <-chan struct{} {
	t.Helper()
	ch, cancel := s.Subscribe(topic)
	t.Cleanup(cancel)
	return ch
}

// testEventsTransactionTopics: each transaction write signals the
// transaction's topic and, when the phone's pending list changes, the
// phone's; subscribers of other transactions and phones hear nothing.
func testEventsTransactionTopics(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	otherTx := subscribe(t, s, mfa.TopicTransaction(NewTxID(t)))
	otherPhone := subscribe(t, s, mfa.TopicPhone(NewPhone(t, s).ID))

	tx := mfa.Transaction{ID: NewTxID(t), UserID: u.ID, IKey: "DIXXXXXXXXXXXXXXXXXX", Factor: mfa.FactorPush,
		PhoneID: p.ID, State: mfa.TxPending, Status: "pushed", Created: at(0), Expires: at(time.Minute)}
	second := tx
	second.ID = NewTxID(t)
	txTopic, phoneTopic := mfa.TopicTransaction(tx.ID), mfa.TopicPhone(p.ID)
	tests := []struct {
		name   string
		call   func() error
		topics []string
	}{
		{"CreateTransaction()", func() error { return s.CreateTransaction(ctx, tx) }, []string{txTopic, phoneTopic}},
		{"SetTransactionStatus()", func() error { return s.SetTransactionStatus(ctx, tx.ID, "answered", "Answered") }, []string{txTopic}},
		{"CompleteTransaction()", func() error {
			_, err := s.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxAllow, Status: "allow", At: at(time.Second)},
				&mfa.AuthLogEntry{TxID: tx.ID, Time: at(time.Second), UserID: u.ID, Result: mfa.ResultSuccess})
			return err
		}, []string{txTopic, phoneTopic}},
		{"CreateTransaction(second)", func() error { return s.CreateTransaction(ctx, second) },
			[]string{mfa.TopicTransaction(second.ID), phoneTopic}},
		{"CompleteTransaction(second, no log)", func() error {
			_, err := s.CompleteTransaction(ctx, second.ID, mfa.TxOutcome{State: mfa.TxDeny, Status: "deny", At: at(time.Second)}, nil)
			return err
		}, []string{mfa.TopicTransaction(second.ID), phoneTopic}},
	}
	for _, tt := range tests {
		// Fresh subscriptions per call: what they receive comes from it.
		chans := make([]<-chan struct{}, len(tt.topics))
		cancels := make([]func(), len(tt.topics))
		for i, topic := range tt.topics {
			chans[i], cancels[i] = s.Subscribe(topic)
		}
		check(t, tt.name, tt.call())
		for i, topic := range tt.topics {
			wantEvent(t, fmt.Sprintf("%s, subscriber of %s", tt.name, topic), chans[i])
			cancels[i]()
		}
	}
	wantNoEvent(t, "subscriber of another transaction", otherTx)
	wantNoEvent(t, "subscriber of another phone", otherPhone)
}

func testEventsPublish(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	topic := "test:" + NewTxID(t)
	first := subscribe(t, s, topic)
	second := subscribe(t, s, topic)
	other := subscribe(t, s, "test:"+NewTxID(t))
	if cap(first) != 1 {
		t.Errorf("Subscribe() channel capacity = %d, want 1", cap(first))
	}

	check(t, "Publish()", s.Publish(ctx, topic))
	wantEvent(t, "first subscriber after Publish()", first)
	wantEvent(t, "second subscriber after Publish()", second)
	wantNoEvent(t, "subscriber of another topic after Publish()", other)

	// Events keep flowing to a subscription that has received one.
	check(t, "Publish(again)", s.Publish(ctx, topic))
	wantEvent(t, "first subscriber after a second Publish()", first)
	wantEvent(t, "second subscriber after a second Publish()", second)

	// Topics are opaque: the store's own topics can be published too.
	phoneTopic := mfa.TopicPhone(NewPhone(t, s).ID)
	phone := subscribe(t, s, phoneTopic)
	check(t, "Publish(phone topic)", s.Publish(ctx, phoneTopic))
	wantEvent(t, "subscriber of a phone after Publish()", phone)
	wantNoEvent(t, "subscriber of another topic after all", other)
}

func testEventsCancel(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	u := NewUser(t, s)
	p := NewPhone(t, s)
	tx := newTransaction(t, s, u.ID, p.ID, at(time.Minute))
	tests := []struct {
		name  string
		topic string
		call  func(topic string) error
	}{
		{"Publish", "test:" + NewTxID(t), func(topic string) error { return s.Publish(ctx, topic) }},
		{"CompleteTransaction", mfa.TopicTransaction(tx.ID), func(string) error {
			_, err := s.CompleteTransaction(ctx, tx.ID, mfa.TxOutcome{State: mfa.TxDeny, Status: "deny", At: at(time.Second)}, nil)
			return err
		}},
	}
	for _, tt := range tests {
		cancelled, cancel := s.Subscribe(tt.topic)
		kept := subscribe(t, s, tt.topic)
		cancel()
		check(t, tt.name+"()", tt.call(tt.topic))
		wantEvent(t, tt.name+"(), subscriber that stayed", kept)
		wantNoEvent(t, tt.name+"(), cancelled subscriber", cancelled)
	}
}

// testEventsCoalesce: publishing never waits for a subscriber that does
// not read; the unread events coalesce into the one the channel holds.
func testEventsCoalesce(t *testing.T, s mfa.Store) {
	ctx := t.Context()
	topic := "test:" + NewTxID(t)
	ch := subscribe(t, s, topic)
	done := make(chan error, 1)
	go func() {
		for range 50 {
			if err := s.Publish(ctx, topic); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		check(t, "Publish() x50", err)
	case <-time.After(eventWait):
		t.Fatalf("50 Publish() to an unread subscriber did not return within %v: a publisher blocked", eventWait)
	}
	wantEvent(t, "subscriber after 50 Publish()", ch)
}

// testEventsConcurrent subscribes, publishes and cancels from many
// goroutines at once: each hears its own topic.
func testEventsConcurrent(t *testing.T, s mfa.Store) {
	const n = 20
	topics := make([]string, n)
	for i := range topics {
		topics[i] = "test:" + NewTxID(t)
	}
	shared := "test:" + NewTxID(t)
	errs := Race(t, n, func(ctx context.Context, i int) error {
		own, cancelOwn := s.Subscribe(topics[i])
		defer cancelOwn()
		_, cancelShared := s.Subscribe(shared)
		defer cancelShared()
		if err := s.Publish(ctx, topics[i]); err != nil {
			return err
		}
		if err := s.Publish(ctx, shared); err != nil {
			return err
		}
		if !awaitEvent(own) {
			return fmt.Errorf("subscriber %d: no event within %v", i, eventWait)
		}
		return nil
	})
	wantAllOK(t, "Subscribe+Publish+cancel", errs)
}
