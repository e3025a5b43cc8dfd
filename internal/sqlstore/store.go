package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/twostep-auth/twostep/internal/mfa"
)

var _ mfa.Store = (*Store)(nil)

// Sealer seals secrets at rest; *seal.Keyring implements it.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
	// NeedsReseal reports whether sealed was sealed under a key that is not
	// the current one.
	NeedsReseal(sealed []byte) bool
}

// Options configure Open.
type Options struct {
	// DSN is a PostgreSQL URL ("postgres://" or "postgresql://"), or else a
	// SQLite file path or "file:" URI.
	DSN string
	// Sealer seals secrets at rest. Required.
	Sealer Sealer
	// Now is the clock for times the store stamps itself (migrations, log
	// records without a time). Default time.Now.
	Now func() time.Time
	// Rand is the source of the server keys. Default crypto/rand.
	Rand io.Reader
	// Logger defaults to discarding.
	Logger *slog.Logger
	// MaxOpenConns is the PostgreSQL pool size, or the SQLite read pool
	// size (SQLite always writes through one connection). Default 20.
	MaxOpenConns int
	// BusyTimeout is how long a SQLite connection waits for a lock held by
	// another process. Default 5s.
	BusyTimeout time.Duration
	// Tracer, on PostgreSQL, sees every statement and batch the driver
	// sends (pgx's tracing interfaces); the tests count round trips and
	// commits with it (sqltest.RoundTrips). Nil: none.
	Tracer pgx.QueryTracer
	// GroupCommit batches concurrent ApplyAuth calls into shared SQLite
	// transactions (see groupcommit.go), which about doubles the rate of
	// authentication writes. Ignored on PostgreSQL.
	GroupCommit bool
}

// PoolStats are one connection pool's statistics.
type PoolStats struct {
	Name string // "sqlite_write", "sqlite_read" or "postgres"
	sql.DBStats
}

// Store is the SQL implementation of mfa.Store.
type Store struct {
	d      *dialect
	write  *sql.DB // SQLite: exactly one connection; PostgreSQL: the pool
	read   *sql.DB // SQLite: query_only pool; PostgreSQL: == write
	sealer Sealer
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger

	keyMu   sync.Mutex
	codeKey []byte // see codeKeyFor

	gc   *groupCommit  // nil unless Options.GroupCommit on SQLite
	ckpt *checkpointer // nil unless SQLite on a file

	// SQLite: prepared statements of the write and read pools
	// (stmtcache.go); nil on PostgreSQL.
	wstmts, rstmts *stmtCache

	hub *hub      // this process's event subscribers (events.go)
	ln  *listener // PostgreSQL: LISTENs for the hub once subscribed to; nil on SQLite

	cfg *configCache // integrations and settings (configcache.go)

	atomics atomic.Int32 // Atomic transactions running (atomic.go)
}

// Open opens the database's connection pools and checks that they connect.
// It does not migrate: call Migrate (twostepd migrate) or CheckSchema
// (twostepd serve) next.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.DSN == "" {
		return nil, errors.New("sqlstore: no DSN")
	}
	if o.Sealer == nil {
		return nil, errors.New("sqlstore: no Sealer")
	}
	s := &Store{sealer: o.Sealer, now: o.Now, rand: o.Rand, log: o.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	maxOpen := o.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 20
	}
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}

	if isPostgresDSN(o.DSN) {
		s.d = postgresDialect
		cfg, err := pgx.ParseConfig(o.DSN)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
		}
		cfg.Tracer = o.Tracer
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(maxOpen)
		db.SetMaxIdleConns(maxOpen)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.write, s.read = db, db
	} else {
		s.d = sqliteDialect
		if err := s.openSQLite(ctx, o.DSN, busy, maxOpen); err != nil {
			return nil, err
		}
	}
	for _, db := range s.pools() {
		if err := db.PingContext(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlstore: connect %s: %w", s.d.name, err)
		}
	}
	if o.GroupCommit && s.d == sqliteDialect {
		s.gc = newGroupCommit(s)
	}
	s.hub = newHub(s.d.notify == "")
	if s.d.notify != "" {
		s.ln = newListener(o.DSN, s.hub, s.log)
	}
	s.cfg = newConfigCache(s.hub, s.now)
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string, busy time.Duration, maxRead int) error {
	wdsn, err := sqliteDSN(path, busy, false)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	// The single writer: every write transaction queues for this
	// connection instead of contending for the file lock.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.write = w
	s.wstmts = newStmtCache(w)
	if isSQLiteMemory(path) {
		s.read = w // an in-memory database lives in one connection
		s.rstmts = s.wstmts
		return nil
	}
	// Open the writer first, so that the file exists and is in WAL mode
	// before a query_only reader opens it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("sqlstore: connect sqlite: %w", err)
	}
	rdsn, err := sqliteDSN(path, busy, true)
	if err != nil {
		w.Close()
		return fmt.Errorf("sqlstore: %w", err)
	}
	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		w.Close()
		return fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(maxRead)
	r.SetMaxIdleConns(maxRead)
	r.SetConnMaxIdleTime(5 * time.Minute)
	// The checkpointer's own connection (see checkpoint.go): the write
	// DSN, so that it may write the database file, but it never begins a
	// transaction.
	cdb, err := sql.Open("sqlite", wdsn)
	if err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	cdb.SetMaxOpenConns(1)
	cdb.SetMaxIdleConns(1)
	cdb.SetConnMaxLifetime(0)
	cdb.SetConnMaxIdleTime(0)
	s.ckpt = newCheckpointer(cdb, s.log)
	s.read = r
	s.rstmts = newStmtCache(r)
	return nil
}

func (s *Store) pools() []*sql.DB {
	if s.read == s.write || s.read == nil {
		return []*sql.DB{s.write}
	}
	return []*sql.DB{s.write, s.read}
}

// Dialect reports "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Stats reports each connection pool's statistics, for metrics.
func (s *Store) Stats() []PoolStats {
	if s.d == postgresDialect {
		return []PoolStats{{Name: "postgres", DBStats: s.write.Stats()}}
	}
	st := []PoolStats{{Name: "sqlite_write", DBStats: s.write.Stats()}}
	if s.read != s.write {
		st = append(st, PoolStats{Name: "sqlite_read", DBStats: s.read.Stats()})
	}
	return st
}

// Close stops the group committer and the event listener (if any) and
// closes the pools.
func (s *Store) Close() error {
	if s.gc != nil {
		s.gc.close()
	}
	if s.ln != nil {
		s.ln.close()
	}
	s.rstmts.close()
	if s.wstmts != s.rstmts {
		s.wstmts.close()
	}
	var errs []error
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	for _, db := range s.pools() {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping reports whether the database is reachable and migrated.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range s.pools() {
		if err := db.PingContext(ctx); err != nil {
			return s.dbErr(ctx, "ping", err)
		}
	}
	return s.CheckSchema(ctx)
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dbtx runs queries written with ? placeholders and plain Go arguments
// (time.Time, uint64) through the dialect.
type dbtx struct {
	q     querier
	d     *dialect
	stmts *stmtCache // prepared statements of q's pool (or tx's); nil: run directly
	tx    *sql.Tx    // set when q is a transaction of the stmts' pool
	s     *Store     // set by reader and writer: see within (atomic.go)
}

// prepared returns the cached prepared statement for q, bound to c's
// transaction if it runs in one, or nil to run q directly. On SQLite's
// single write connection a transaction reuses the statement prepared on
// that connection (database/sql's Tx.StmtContext finds it) instead of
// parsing the query again.
func (c dbtx) prepared(ctx context.Context, q string) *sql.Stmt {
	if c.tx == nil {
		return c.stmts.get(ctx, q)
	}
	// Preparing would need a connection of the pool, which the
	// transaction may hold: use only what is cached (the store prepares
	// what was missing after the transaction, prepareWanted).
	if st := c.stmts.lookup(q); st != nil {
		return c.tx.StmtContext(ctx, st) // closed when the transaction ends
	}
	return nil
}

// inTx returns the dbtx of a transaction on the write pool.
func (s *Store) inTx(tx *sql.Tx) dbtx { return dbtx{q: tx, d: s.d, stmts: s.wstmts, tx: tx} }

func (c dbtx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c = c.within(ctx)
	args, err := c.d.args(args)
	if err != nil {
		return nil, err
	}
	q := c.d.rebind(query)
	if st := c.prepared(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, q, args...)
}

// execN runs a statement and returns how many rows it changed.
func (c dbtx) execN(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c dbtx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c = c.within(ctx)
	args, err := c.d.args(args)
	if err != nil {
		return nil, err
	}
	q := c.d.rebind(query)
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, q, args...)
}

// row runs a query expected to return one row. Its Scan reports
// sql.ErrNoRows when there is none.
func (c dbtx) row(ctx context.Context, query string, args ...any) rowScanner {
	c = c.within(ctx)
	args, err := c.d.args(args)
	if err != nil {
		return errRow{err}
	}
	q := c.d.rebind(query)
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, q, args...)
}

// exists reports whether a query returns a row.
func (c dbtx) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := c.row(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// reader runs single statements that only read, on the read pool (or in
// the Atomic transaction of the statement's context).
func (s *Store) reader() dbtx { return dbtx{q: s.read, d: s.d, stmts: s.rstmts, s: s} }

// writer runs single statements that write, on the write pool (or in the
// Atomic transaction of the statement's context).
func (s *Store) writer() dbtx { return dbtx{q: s.write, d: s.d, stmts: s.wstmts, s: s} }

// maxTxAttempts bounds the retries of a PostgreSQL transaction that failed
// with a serialization failure or a deadlock.
const maxTxAttempts = 4

// writeTx runs fn in one write transaction (on SQLite: BEGIN IMMEDIATE on
// the single write connection), committing if fn returns nil. This is the
// one place that retries a transaction PostgreSQL aborted for a
// serialization failure or a deadlock; fn must therefore have no effects
// outside the transaction. Inside an Atomic transaction fn runs in a
// savepoint of that transaction instead (and the Atomic is what retries).
func (s *Store) writeTx(ctx context.Context, op string, fn func(c dbtx) error) error {
	if at := s.txFrom(ctx); at != nil {
		return s.savepoint(ctx, at, op, fn)
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = s.tryTx(ctx, op, fn)
		if err == nil || attempt == maxTxAttempts || !s.retryable(err) || ctx.Err() != nil {
			return err
		}
		s.log.DebugContext(ctx, "retrying transaction", "op", op, "attempt", attempt, "err", err)
	}
}

func (s *Store) tryTx(ctx context.Context, op string, fn func(c dbtx) error) (err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := fn(s.inTx(tx)); err != nil {
		return s.dbErr(ctx, op, err)
	}
	if err := tx.Commit(); err != nil {
		return s.dbErr(ctx, op, err)
	}
	s.ckpt.committed(1)
	s.wstmts.prepareWanted(ctx)
	return nil
}

func (s *Store) retryable(err error) bool {
	class, _ := s.d.classify(err)
	return class == errRetry
}
