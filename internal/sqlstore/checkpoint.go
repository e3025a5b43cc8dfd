package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Background WAL checkpoints (SQLite, a database file).
//
// In WAL mode a commit appends pages to the -wal file, and a checkpoint
// copies them back into the database file, with an fsync of each file
// (synchronous=NORMAL makes the checkpoint the only fsync). SQLite's own
// automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000
// pages, on the committing connection: here the single writer, whose
// queue every login's decision waits in. Measured under a passcode-login
// load (docs/benchmarks.md), those checkpoints held the writer about a
// fifth of its time, most of it in fsync.
//
// So the writer connection runs with wal_autocheckpoint=0 and a
// checkpointer goroutine does the same PASSIVE checkpoint on a connection
// of its own: it copies what no reader still needs without blocking the
// writer or readers, and the writer restarts the WAL from its beginning
// once everything is copied, as before. It runs when the writer has
// committed ckptEvery decisions since the last checkpoint, and every
// ckptInterval in any case (a checkpoint with nothing to copy costs a
// lock, no I/O), which also covers writes it is not told about. A last
// checkpoint runs at Close. journal_size_limit truncates a WAL that a
// burst (an import, gen-users) grew, when it restarts.
const (
	ckptEvery    = 128         // commits (group-commit units count one each)
	ckptInterval = time.Second // and at least this often
)

type checkpointer struct {
	db   *sql.DB // one connection of its own
	log  *slog.Logger
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once

	writes atomic.Int64 // commits since the last checkpoint
	runs   atomic.Int64 // checkpoints run (tests)
}

func newCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed records n commits of the writer; past ckptEvery it wakes the
// checkpointer. It never blocks.
func (c *checkpointer) committed(n int64) {
	if c == nil {
		return
	}
	if c.writes.Add(n) >= ckptEvery {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(ckptInterval)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			c.checkpoint()
			return
		case <-c.kick:
		case <-t.C:
		}
		c.checkpoint()
	}
}

func (c *checkpointer) checkpoint() {
	c.writes.Store(0)
	var busy, logFrames, backfilled int64
	err := c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &backfilled)
	c.runs.Add(1)
	if err != nil {
		// The disk failed, or the database is closing; the next run tries
		// again. Commits are not affected: the WAL keeps them. (Another
		// process checkpointing at the same time is busy = 1, not an
		// error.)
		c.log.Warn("sqlite checkpoint", "err", err)
	}
}

// close runs a last checkpoint, stops the goroutine and closes its
// connection.
func (c *checkpointer) close() error {
	c.once.Do(func() { close(c.quit) })
	<-c.done
	return c.db.Close()
}
