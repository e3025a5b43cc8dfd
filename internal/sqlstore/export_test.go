package sqlstore

import (
	"context"
	"errors"
	"strings"
)

// GroupCommitStats reports how many transactions the group committer ran
// and how many ApplyAuth units they carried (0, 0 without group commit).
func GroupCommitStats(s *Store) (groups, units int64) {
	if s.gc == nil {
		return 0, 0
	}
	return s.gc.groups.Load(), s.gc.units.Load()
}

// ListenerPID reports the PostgreSQL backend process id of the store's
// event listener connection: 0 while it is not listening (and on SQLite).
func ListenerPID(s *Store) uint32 {
	if s.ln == nil {
		return 0
	}
	return s.ln.pid.Load()
}

// ListenerStopped reports whether the store's event listener goroutine has
// ended (or never started); true on SQLite.
func ListenerStopped(s *Store) bool {
	if s.ln == nil {
		return true
	}
	s.ln.mu.Lock()
	started := s.ln.started
	s.ln.mu.Unlock()
	if !started {
		return true
	}
	select {
	case <-s.ln.done:
		return true
	default:
		return false
	}
}

// HubSize reports how many topics and subscribers the store's event hub
// holds.
func HubSize(s *Store) (topics, subscribers int) { return s.hub.size() }

// NotifyAndRollBack sends topic's event from inside a write transaction
// that then fails and rolls back, returning its error.
func NotifyAndRollBack(ctx context.Context, s *Store, topic string) error {
	return s.writeTx(ctx, "notify and roll back", func(c dbtx) error {
		if err := s.notify(ctx, c, topic); err != nil {
			return err
		}
		return errors.New("rolled back on purpose")
	})
}

// WriteStatementCached reports whether a statement starting with prefix
// is prepared in the write pool's statement cache (SQLite).
func WriteStatementCached(s *Store, prefix string) bool {
	if s.wstmts == nil {
		return false
	}
	s.wstmts.mu.Lock()
	defer s.wstmts.mu.Unlock()
	for q := range s.wstmts.m {
		if strings.HasPrefix(q, prefix) {
			return true
		}
	}
	return false
}

// SpendBypassSQL is the statement that finds and spends a bypass code.
const SpendBypassSQL = spendBypassSQL

// CheckpointRuns reports how many WAL checkpoints the store's background
// checkpointer has run (0 on PostgreSQL and in-memory SQLite).
func CheckpointRuns(s *Store) int64 {
	if s.ckpt == nil {
		return 0
	}
	return s.ckpt.runs.Load()
}

// WriterPragma reads PRAGMA name on the store's write connection.
func WriterPragma(ctx context.Context, s *Store, name string) (int64, error) {
	var v int64
	err := s.write.QueryRowContext(ctx, `PRAGMA `+name).Scan(&v)
	return v, err
}

// CheckpointEvery is the number of commits that wakes the checkpointer.
const CheckpointEvery = ckptEvery
