package sqlstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Events (mfa.Events). Every Store has an in-process hub: topic -> set of
// subscribers, each a channel of capacity 1 that a publisher fills without
// blocking (extra events coalesce). Cancelling a subscription removes it,
// and a topic left without subscribers is deleted, so the hub's memory
// follows the live subscriptions.
//
// SQLite (one process): a write that changes a transaction publishes its
// topics to the hub after its commit (published). ApplyAuth, the only write
// the group committer batches, publishes nothing.
//
// PostgreSQL (any number of nodes): such a write runs SELECT
// pg_notify('twostep_events', topic) inside its database transaction
// (notify), so the event is delivered at commit, and never for a rollback.
// No write publishes to the hub directly: a listener goroutine, started by
// the Store's first Subscribe, holds one dedicated connection that LISTENs
// on the channel and publishes each payload to the hub, so local
// subscribers hear of this node's writes by the same one path as of other
// nodes'. Publish sends pg_notify too. When the listening connection drops,
// the listener reconnects with capped exponential backoff and, listening
// again, signals every subscriber, since events sent meanwhile were lost.
// Close stops it. LISTEN/NOTIFY channels are per database, not per schema:
// stores on several schemas of one database hear each other's topics,
// which costs at most a spurious wake-up (topics carry random ids).

var _ mfa.Events = (*Store)(nil)

// Listener tuning.
const (
	eventChannel       = "twostep_events"
	listenMinBackoff   = 50 * time.Millisecond
	listenMaxBackoff   = 5 * time.Second
	listenConnTimeout  = 10 * time.Second
	listenHealthEvery  = 30 * time.Second // ping an idle listening connection this often
	listenPingTimeout  = 5 * time.Second
	subscribeLiveWait  = 2 * time.Second // how long the first Subscribe waits for LISTEN
	listenerAppName    = "twostepd-events"
	listenerCloseLimit = time.Second
)

// Subscribe returns a channel that receives a value each time topic is
// published after Subscribe returns, and the function that cancels the
// subscription (safe to call more than once). On PostgreSQL the first
// Subscribe starts the listener and waits (up to subscribeLiveWait) until
// it listens; a subscriber that returns before the listener listens is
// signalled as soon as it does.
func (s *Store) Subscribe(topic string) (<-chan struct{}, func()) {
	sub, cancel := s.hub.subscribe(topic)
	if s.ln != nil {
		s.ln.start()
		s.ln.awaitLive()
		s.hub.settle(sub)
	}
	return sub.ch, cancel
}

// Publish signals topic's subscribers on every node: on PostgreSQL by
// pg_notify, on SQLite in process.
func (s *Store) Publish(ctx context.Context, topic string) error {
	const op = "publish"
	if s.d.notify == "" {
		if err := ctx.Err(); err != nil {
			return s.dbErr(ctx, op, err)
		}
		s.afterCommit(ctx, func() { s.hub.publish(topic) })
		return nil
	}
	_, err := s.writer().exec(ctx, `SELECT `+s.d.notify, topic)
	return s.dbErr(ctx, op, err)
}

// notify sends topics from inside the transaction c, for delivery when it
// commits (PostgreSQL). On SQLite it does nothing: the caller calls
// published after the commit.
func (s *Store) notify(ctx context.Context, c dbtx, topics ...string) error {
	if s.d.notify == "" || len(topics) == 0 {
		return nil
	}
	exprs := make([]string, len(topics))
	args := make([]any, len(topics))
	for i, t := range topics {
		exprs[i], args[i] = s.d.notify, t
	}
	_, err := c.exec(ctx, `SELECT `+strings.Join(exprs, ", "), args...)
	return err
}

// published publishes topics to the hub after a committed write (SQLite;
// inside an Atomic transaction, once it ends). On PostgreSQL it does
// nothing: notify sent them, and the listener delivers them.
func (s *Store) published(ctx context.Context, topics ...string) {
	if s.d.notify != "" {
		return
	}
	s.afterCommit(ctx, func() {
		for _, t := range topics {
			s.hub.publish(t)
		}
	})
}

// txTopics are the topics a change of transaction id on phoneID publishes;
// phone says whether the phone's pending list changed too.
func txTopics(id, phoneID string, phone bool) []string {
	topics := []string{mfa.TopicTransaction(id)}
	if phone && phoneID != "" {
		topics = append(topics, mfa.TopicPhone(phoneID))
	}
	return topics
}

// hub fans events out to this process's subscribers.
type hub struct {
	mu     sync.Mutex
	topics map[string]map[*subscriber]struct{}
	live   bool          // the event source delivers (always, on SQLite)
	up     chan struct{} // closed while live
	// configEpoch counts topicConfig events and changes of live, for the
	// configuration cache (configcache.go), which needs no subscription.
	configEpoch uint64
}

type subscriber struct {
	ch chan struct{}
	// stale: the subscriber may have missed events while the source was
	// down; it is signalled when the source is live again.
	stale bool
}

func newHub(live bool) *hub {
	h := &hub{topics: map[string]map[*subscriber]struct{}{}, up: make(chan struct{})}
	if live {
		h.live = true
		close(h.up)
	}
	return h
}

func (h *hub) subscribe(topic string) (*subscriber, func()) {
	sub := &subscriber{ch: make(chan struct{}, 1)}
	h.mu.Lock()
	set := h.topics[topic]
	if set == nil {
		set = map[*subscriber]struct{}{}
		h.topics[topic] = set
	}
	set[sub] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return sub, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if set := h.topics[topic]; set != nil {
				delete(set, sub)
				if len(set) == 0 {
					delete(h.topics, topic)
				}
			}
		})
	}
}

// signal fills sub's channel unless it is already full.
func (sub *subscriber) signal() {
	select {
	case sub.ch <- struct{}{}:
	default:
	}
}

func (h *hub) publish(topic string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if topic == topicConfig {
		h.configEpoch++
	}
	for sub := range h.topics[topic] {
		sub.signal()
	}
}

// settle marks sub stale if the source is not live as its Subscribe
// returns: events may be lost until it is.
func (h *hub) settle(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.live {
		sub.stale = true
	}
}

// setLive records whether the source delivers. Going down marks every
// subscriber stale; coming up signals every stale subscriber (after a
// drop: all of them), so that waiters re-check what they wait for.
func (h *hub) setLive(live bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if live == h.live {
		return
	}
	h.live = live
	h.configEpoch++
	if !live {
		h.up = make(chan struct{})
	} else {
		close(h.up)
	}
	for _, set := range h.topics {
		for sub := range set {
			switch {
			case !live:
				sub.stale = true
			case sub.stale:
				sub.stale = false
				sub.signal()
			}
		}
	}
}

// state reports whether the source is live and a channel closed once it
// is.
func (h *hub) state() (bool, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live, h.up
}

// config reports whether the source is live and the configuration epoch.
func (h *hub) config() (live bool, epoch uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live, h.configEpoch
}

// size reports how many topics and subscribers the hub holds.
func (h *hub) size() (topics, subscribers int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.topics {
		subscribers += len(set)
	}
	return len(h.topics), subscribers
}

// listener LISTENs on PostgreSQL for the hub (see the top of this file).
type listener struct {
	dsn string
	hub *hub
	log *slog.Logger

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu      sync.Mutex
	started bool
	closed  bool

	failing atomic.Bool   // the last attempt to listen failed, or the connection dropped
	pid     atomic.Uint32 // backend process id of the listening connection; 0 while down
}

func newListener(dsn string, h *hub, log *slog.Logger) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	return &listener{dsn: dsn, hub: h, log: log, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// start starts the listener goroutine once, unless the listener is closed.
func (l *listener) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return
	}
	l.started = true
	go l.run()
}

// close stops the listener and waits for its goroutine to end.
func (l *listener) close() {
	l.mu.Lock()
	l.closed = true
	started := l.started
	l.mu.Unlock()
	l.cancel()
	if started {
		<-l.done
	}
}

// awaitLive waits until the hub's source is live, for at most
// subscribeLiveWait, and not at all while the listener is failing (it is
// then retrying, and waiting would only delay the caller).
func (l *listener) awaitLive() {
	live, up := l.hub.state()
	if live || l.failing.Load() {
		return
	}
	t := time.NewTimer(subscribeLiveWait)
	defer t.Stop()
	select {
	case <-up:
	case <-t.C:
	case <-l.ctx.Done():
	}
}

func (l *listener) run() {
	defer close(l.done)
	backoff := listenMinBackoff
	for {
		wasLive, err := l.listen()
		l.pid.Store(0)
		l.hub.setLive(false)
		if l.ctx.Err() != nil {
			return
		}
		l.failing.Store(true)
		if wasLive {
			backoff = listenMinBackoff
		}
		l.log.Warn("event listener lost its connection; reconnecting", "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-l.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen connects, LISTENs and publishes notifications to the hub until
// the connection fails or the listener is closed. wasLive reports whether
// it got as far as listening.
func (l *listener) listen() (wasLive bool, err error) {
	cfg, err := pgx.ParseConfig(l.dsn)
	if err != nil {
		return false, err
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = listenerAppName
	}
	ctx, cancel := context.WithTimeout(l.ctx, listenConnTimeout)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), listenerCloseLimit)
		conn.Close(ctx)
		cancel()
	}()
	ctx, cancel = context.WithTimeout(l.ctx, listenConnTimeout)
	_, err = conn.Exec(ctx, `LISTEN `+eventChannel)
	cancel()
	if err != nil {
		return false, err
	}
	l.pid.Store(conn.PgConn().PID())
	l.failing.Store(false)
	l.hub.setLive(true)
	for {
		ctx, cancel := context.WithTimeout(l.ctx, listenHealthEvery)
		n, err := conn.WaitForNotification(ctx)
		idle := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case err == nil:
			l.hub.publish(n.Payload)
		case l.ctx.Err() != nil:
			return true, l.ctx.Err()
		case idle && !conn.IsClosed():
			// Nothing for a while: make sure the connection still works,
			// rather than wait on a dead one for TCP to notice.
			ctx, cancel := context.WithTimeout(l.ctx, listenPingTimeout)
			err := conn.Ping(ctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}
