package sqltest

import (
	"context"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// RoundTrips counts what a PostgreSQL store sends through the driver: pass
// it as sqlstore.Options.Tracer. Every statement (Query, Exec, QueryRow),
// every batch and every statement preparation is one round trip to the
// server; a commit is a COMMIT, or a statement outside a transaction that
// writes (INSERT, UPDATE or DELETE anywhere in its text, such as a chain
// of data-modifying CTEs). It does not see the liveness ping that pgx's
// database/sql adapter sends before reusing a connection idle for over a
// second.
type RoundTrips struct {
	mu      sync.Mutex
	n       int
	commits int
	inTx    map[*pgx.Conn]bool
	stmts   []string
}

// Reset zeroes the counts.
func (rt *RoundTrips) Reset() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.n, rt.commits, rt.stmts = 0, 0, nil
}

// Counts returns the round trips and commits since the last Reset, and
// the statements sent (batches as "batch: " and their statements).
func (rt *RoundTrips) Counts() (roundTrips, commits int, stmts []string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.n, rt.commits, append([]string(nil), rt.stmts...)
}

func (rt *RoundTrips) statement(conn *pgx.Conn, sql string) {
	q := strings.ToLower(strings.TrimSpace(sql))
	if rt.inTx == nil {
		rt.inTx = map[*pgx.Conn]bool{}
	}
	switch {
	case strings.HasPrefix(q, "begin"):
		rt.inTx[conn] = true
	case strings.HasPrefix(q, "commit"):
		rt.inTx[conn] = false
		rt.commits++
	case strings.HasPrefix(q, "rollback"):
		rt.inTx[conn] = false
	case !rt.inTx[conn] && writes(q):
		rt.commits++
	}
}

func writes(q string) bool {
	for _, w := range []string{"insert ", "update ", "delete "} {
		if strings.Contains(q, w) {
			return true
		}
	}
	return false
}

func short(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 80 {
		sql = sql[:80] + "..."
	}
	return sql
}

// TraceQueryStart implements pgx.QueryTracer.
func (rt *RoundTrips) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.n++
	rt.stmts = append(rt.stmts, short(data.SQL))
	rt.statement(conn, data.SQL)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (rt *RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer: a batch is one round trip.
func (rt *RoundTrips) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.n++
	rt.stmts = append(rt.stmts, "batch:")
	for _, q := range data.Batch.QueuedQueries {
		rt.stmts = append(rt.stmts, "  "+short(q.SQL))
		rt.statement(conn, q.SQL)
	}
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (rt *RoundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (rt *RoundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TracePrepareStart implements pgx.PrepareTracer.
func (rt *RoundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	return context.WithValue(ctx, prepareKey{}, data.SQL)
}

type prepareKey struct{}

// TracePrepareEnd implements pgx.PrepareTracer: preparing a statement not
// yet prepared on the connection is a round trip of its own.
func (rt *RoundTrips) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, data pgx.TracePrepareEndData) {
	if data.AlreadyPrepared {
		return
	}
	sql, _ := ctx.Value(prepareKey{}).(string)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.n++
	rt.stmts = append(rt.stmts, "prepare: "+short(sql))
}
