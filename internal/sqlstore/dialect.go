package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// This file holds every difference between SQLite and PostgreSQL. Queries
// elsewhere are written once, with ? placeholders, and pass through a
// dialect on their way to the driver.

// Dialect names, as Store.Dialect reports them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

type dialect struct {
	name string
	bind int // sqlx bind type
	// forUpdate locks the rows a SELECT reads until the transaction ends,
	// against each other's lock and updates. PostgreSQL's FOR NO KEY UPDATE
	// (not FOR UPDATE) leaves foreign-key checks of inserts that reference
	// the row unblocked. SQLite needs none: its single writer already
	// serializes every write transaction (BEGIN IMMEDIATE).
	forUpdate string
	// migrationsDDL creates the schema_migrations table.
	migrationsDDL string
	// advisoryLock takes a named lock (one ? argument) for the rest of the
	// transaction, per database and PostgreSQL schema; empty when BEGIN
	// IMMEDIATE already serializes writers.
	advisoryLock string
	// hasTable reports (with one ? argument, the table name) whether a table
	// exists in the current schema.
	hasTable string
	// notify is the SQL expression that sends one event (one ? argument,
	// the topic) to every node when the transaction commits; empty where
	// events stay in process (events.go).
	notify string
}

var sqliteDialect = &dialect{
	name:          DialectSQLite,
	bind:          sqlx.QUESTION,
	forUpdate:     "",
	migrationsDDL: `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
	hasTable:      `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
}

var postgresDialect = &dialect{
	name:          DialectPostgres,
	bind:          sqlx.DOLLAR,
	forUpdate:     " FOR NO KEY UPDATE",
	migrationsDDL: `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`,
	// The lock key includes the schema so that migrators of different
	// schemas in one database (tests) do not wait for each other.
	advisoryLock: `SELECT pg_advisory_xact_lock(hashtext('twostep.' || ? || ':' || current_schema()))`,
	hasTable:     `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?`,
	notify:       `pg_notify('` + eventChannel + `', ?)`,
}

// isPostgresDSN reports whether dsn names a PostgreSQL database.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// rebind turns ? placeholders into the dialect's.
func (d *dialect) rebind(q string) string {
	if d.bind == sqlx.QUESTION {
		return q
	}
	return sqlx.Rebind(d.bind, q)
}

// args encodes query arguments: a time.Time becomes NULL when zero, and
// otherwise the instant truncated to microseconds, as INTEGER unix
// microseconds (SQLite) or a UTC timestamptz (PostgreSQL); a uint64 becomes
// an int64 (both databases store signed 64-bit integers).
func (d *dialect) args(in []any) ([]any, error) {
	args := make([]any, len(in))
	copy(args, in)
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = d.time(v)
		case uint64:
			if v > math.MaxInt64 {
				return nil, mfa.Errorf(mfa.Invalid, "value %d out of range", v)
			}
			args[i] = int64(v)
		case string, []byte, bool, int, int64, nil:
		default:
			// Named basic types (mfa.UserStatus, mfa.TokenType, ...) go to
			// the driver as their underlying type.
			switch rv := reflect.ValueOf(a); rv.Kind() {
			case reflect.String:
				args[i] = rv.String()
			case reflect.Bool:
				args[i] = rv.Bool()
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				args[i] = rv.Int()
			case reflect.Uint8, reflect.Uint16, reflect.Uint32:
				args[i] = int64(rv.Uint())
			}
		}
	}
	return args, nil
}

func (d *dialect) time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if d.name == DialectSQLite {
		return t.UnixMicro()
	}
	return t
}

// scanTime is the sql.Scanner for a time column of either dialect: NULL is
// the zero time; every time reads back in UTC.
type scanTime struct{ t *time.Time }

func (s scanTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case int64: // SQLite: unix microseconds
		*s.t = time.UnixMicro(v).UTC()
	case time.Time: // PostgreSQL: timestamptz
		*s.t = v.UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

// page renders an mfa.Page as LIMIT/OFFSET. Limit <= 0 means no limit.
func (d *dialect) page(p mfa.Page) string {
	switch {
	case p.Limit > 0 && p.Offset > 0:
		return " LIMIT " + strconv.Itoa(p.Limit) + " OFFSET " + strconv.Itoa(p.Offset)
	case p.Limit > 0:
		return " LIMIT " + strconv.Itoa(p.Limit)
	case p.Offset > 0 && d.name == DialectSQLite:
		return " LIMIT -1 OFFSET " + strconv.Itoa(p.Offset) // SQLite needs a LIMIT before OFFSET
	case p.Offset > 0:
		return " OFFSET " + strconv.Itoa(p.Offset)
	}
	return ""
}

// errClass is what a driver error means to the store.
type errClass int

const (
	errOther errClass = iota
	errUnique
	errForeignKey
	errBusy        // SQLite: the database stayed locked past busy_timeout
	errRetry       // PostgreSQL: serialization failure or deadlock; the transaction may be retried
	errUnreachable // the database cannot be reached: connection refused or lost, file cannot be opened
)

// classify reports what err means and, for a unique violation, which
// constraint it hit: the PostgreSQL constraint name, or SQLite's
// "table.column, ..." list.
func (d *dialect) classify(err error) (errClass, string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if strings.HasPrefix(pe.Code, "08") { // connection_exception class
			return errUnreachable, ""
		}
		switch pe.Code {
		case "57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return errUnreachable, ""
		case "23505": // unique_violation
			return errUnique, pe.ConstraintName
		case "23503": // foreign_key_violation
			return errForeignKey, pe.ConstraintName
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return errRetry, ""
		case "55P03": // lock_not_available
			return errBusy, ""
		}
		return errOther, ""
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// "UNIQUE constraint failed: tokens.type, tokens.serial"
			msg := se.Error()
			if i := strings.LastIndex(msg, "constraint failed: "); i >= 0 {
				msg = msg[i+len("constraint failed: "):]
				if j := strings.Index(msg, " ("); j >= 0 {
					msg = msg[:j]
				}
			}
			return errUnique, msg
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey, ""
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errBusy, ""
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_NOTADB:
			return errUnreachable, ""
		}
		return errOther, ""
	}
	// No answer from the server at all: pgx could not connect, the
	// connection broke mid-statement, or database/sql gave up on it.
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || pgconn.SafeToRetry(err) {
		return errUnreachable, ""
	}
	return errOther, ""
}

// uniqueConstraint names, in both dialects, a unique constraint whose
// violation the store reports as Conflict with Field and Msg.
type uniqueConstraint struct {
	postgres string // constraint or index name
	sqlite   string // "table.column, ..." as SQLite's message lists them
	field    string
	msg      string
}

var uniqueConstraints = []uniqueConstraint{
	{"users_pkey", "users.id", "user_id", "user id already exists"},
	{"user_names_pkey", "user_names.name_lower", "username", "username already exists"},
	{"phones_pkey", "phones.id", "phone_id", "phone id already exists"},
	{"authenticators_pkey", "authenticators.id", "id", "authenticator id already exists"},
	{"authenticators_active_phone", "authenticators.phone_id", "phone_id", "the phone already has an active authenticator"},
	{"tokens_pkey", "tokens.id", "token_id", "token id already exists"},
	{"tokens_type_serial_key", "tokens.type, tokens.serial", "serial", "a token of this type and serial already exists"},
	{"bypass_codes_pkey", "bypass_codes.id", "id", "bypass code id already exists"},
	{"bypass_codes_user_code", "bypass_codes.user_id, bypass_codes.code_hash", "codes", "the user already holds this bypass code"},
	{"sms_batches_pkey", "sms_batches.id", "id", "sms batch id already exists"},
	{"sms_codes_batch_code", "sms_codes.batch_id, sms_codes.code_hash", "codes", "duplicate passcode in the batch"},
	{"transactions_pkey", "transactions.id", "txid", "transaction id already exists"},
	{"integrations_pkey", "integrations.ikey", "integration_key", "integration key already exists"},
	{"admins_pkey", "admins.id", "admin_id", "administrator id already exists"},
	{"admins_email_lower_key", "admins.email_lower", "email", "an administrator with this email already exists"},
	{"activations_pkey", "activations.id", "id", "activation id already exists"},
	{"activations_code_hash_key", "activations.code_hash", "code", "activation code already exists"},
	{"trusted_devices_pkey", "trusted_devices.id", "id", "remembered device id already exists"},
	{"groups_pkey", "groups.id", "group_id", "group id already exists"},
	{"groups_name_lower_key", "groups.name_lower", "name", "a group with this name already exists"},
}

func (d *dialect) lookupUnique(constraint string) (uniqueConstraint, bool) {
	for _, c := range uniqueConstraints {
		if (d.name == DialectPostgres && c.postgres == constraint) || (d.name == DialectSQLite && c.sqlite == constraint) {
			return c, true
		}
	}
	return uniqueConstraint{}, false
}

// lock takes the named transaction-scoped lock, serializing transactions
// of several processes that take the same name (migrations, bootstrap)
// until the transaction ends. On SQLite the single BEGIN IMMEDIATE writer
// already serializes them.
func (d *dialect) lock(ctx context.Context, c dbtx, name string) error {
	if d.advisoryLock == "" {
		return nil
	}
	_, err := c.exec(ctx, d.advisoryLock, name)
	return err
}

// sqliteDSN builds the modernc.org/sqlite DSN of one pool over the file at
// path (a path or a "file:" URI). Every connection gets the pragmas; the
// write pool begins transactions with BEGIN IMMEDIATE, the read pool
// refuses writes.
func sqliteDSN(path string, busy time.Duration, readOnly bool) (string, error) {
	if !strings.HasPrefix(path, "file:") && strings.Contains(path, "?") {
		return "", fmt.Errorf("sqlite path %q contains '?': use a file: URI", path)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		// The writer never checkpoints (checkpoint.go); its page cache
		// stays valid between its transactions (no other connection
		// writes), so it is larger than SQLite's 2 MB default; savepoint
		// journals stay in memory instead of a temporary file per group.
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Add("_pragma", "journal_size_limit(67108864)")
		q.Add("_pragma", "cache_size(-16384)")
		q.Add("_pragma", "temp_store(MEMORY)")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + q.Encode(), nil
}

// isSQLiteMemory reports whether path names an in-memory database, which
// exists only within one connection: such a store uses one connection for
// reads and writes.
func isSQLiteMemory(path string) bool {
	return path == ":memory:" || strings.HasPrefix(path, "file::memory:") || strings.Contains(path, "mode=memory")
}
