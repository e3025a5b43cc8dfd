// Package sqlstore is the one SQL implementation of the mfa store
// contracts (mfa.Store), for SQLite (modernc.org/sqlite, pure Go) and
// PostgreSQL (pgx through database/sql). It owns the SQL schema, its
// migrations and the mapping of driver errors to mfa error kinds.
//
// It imports mfa, database/sql and the drivers; it must not import
// authflow, admin, web, net/http or any other adapter.
//
// # One set of queries
//
// Every query is written once, with ? placeholders. dialect.go holds the
// only differences between the databases: placeholder rebinding, time
// encoding, LIMIT/OFFSET, row locks, migration locks and error codes.
// errors.go maps every driver error to an mfa kind in one function.
//
// # SQLite
//
// Two pools over one file: a write pool of exactly one connection, whose
// transactions begin with BEGIN IMMEDIATE, and a read pool
// (Options.MaxOpenConns) of query_only connections. Every connection runs
// journal_mode=WAL, foreign_keys=1, busy_timeout and synchronous=NORMAL.
// Writers queue for the one write connection instead of fighting for the
// file lock, and WAL readers never block the writer, so "database is
// locked" cannot happen within a process (busy_timeout covers another
// process on the same file). synchronous=NORMAL in WAL mode is durable
// against a crash of the process; an operating-system crash or power loss
// can lose the transactions committed since the last checkpoint, but never
// corrupts the database.
//
// With Options.GroupCommit, concurrent ApplyAuth calls are batched into
// one transaction by one writer goroutine (groupcommit.go).
//
// Store.Atomic (atomic.go) runs a caller's store calls in one write
// transaction carried in the context: statements of reader(), writer() and
// writeTx run on it (writeTx in a savepoint), so nothing inside waits for
// the single write connection or the group committer, which it holds or
// bypasses.
//
// # PostgreSQL
//
// One pool. Security counters move by single conditional UPDATEs (with
// RETURNING), for which READ COMMITTED suffices; the few multi-statement
// transactions lock their parent row first (SELECT ... FOR UPDATE). A
// caller's Atomic that checks what a user or administrator has before
// adding to it (one phone per number, at most 20 security keys) starts
// with LockUser or LockAdmin, the same row lock, so that two such
// transactions run one after the other instead of both finding room.
// Store.writeTx retries serialization failures and deadlocks, in that one
// place. Listing keys use the "C" collation, so both databases order alike.
//
// # Events
//
// mfa.Events wakes long polls (events.go). Each Store has an in-process
// hub of subscribers (capacity-1 channels, non-blocking sends, cancelled
// subscriptions and empty topics removed). On SQLite the writes that change
// a transaction publish to the hub after they commit. On PostgreSQL they
// run pg_notify('twostep_events', topic) inside their database
// transaction, delivered at commit and never on rollback; a listener
// goroutine, started by the first Subscribe and stopped by Close, holds one
// dedicated pgx connection that LISTENs and feeds every node's hub,
// including its own (one path for local and remote events). A dropped
// listening connection is re-established with capped backoff, and then
// every subscriber is signalled, so waiters re-check what they may have
// missed.
//
// # Times, secrets, passcodes
//
// Times are INTEGER unix microseconds (SQLite) or timestamptz
// (PostgreSQL), truncated to microseconds, read back in UTC; the zero time
// is NULL. Every mfa.Secret is sealed with the Sealer, bound to its table,
// column and row (secrets.go); Reseal re-seals under the current key.
// Bypass codes, SMS passcodes, activation codes and remembered-device
// tokens are stored only as HMAC-SHA256, with a purpose prefix per kind,
// under a server key (server_keys.code_hmac, itself sealed), created on
// first use and loaded lazily (by Migrate, or by the first method that
// needs it), so that Open works on an unmigrated database.
//
// # Migrations
//
// migrations/<dialect>/NNNN_name.sql, embedded, forward-only, each applied
// in one transaction and recorded in schema_migrations. Migrate is safe to
// run from several processes at once. CheckSchema refuses a database that
// is ahead of (or behind) this binary.
package sqlstore
