package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each distinct statement once per pool and reuses it.
// It serves SQLite only: the driver parses every statement anew, which a
// profile of passcode logins showed as about 30 % of the server's CPU;
// pgx keeps its own per-connection statement cache. Statements built with
// a variable shape (list filters and pages) are cached too, up to
// maxCachedStmts; past that, statements run unprepared as before.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// wanted are statements a transaction ran unprepared: preparing needs
	// a connection of the pool, and on SQLite's single write connection
	// the transaction holds it. prepareWanted prepares them after the
	// transaction.
	wanted map[string]struct{}
}

// maxCachedStmts bounds the cache: the store has far fewer fixed
// statements than this.
const maxCachedStmts = 512

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, wanted: map[string]struct{}{}}
}

// lookup returns the prepared statement for query if it is cached, and
// otherwise notes it for prepareWanted and returns nil. Unlike get it never
// needs a connection, so a transaction may call it.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[query]
	if !ok && len(c.m)+len(c.wanted) < maxCachedStmts {
		c.wanted[query] = struct{}{}
	}
	return st
}

// prepareWanted prepares the statements lookup missed. Call it with no
// transaction of the pool open in this goroutine.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.wanted) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.wanted))
	for q := range c.wanted {
		queries = append(queries, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range queries {
		c.get(ctx, q)
	}
}

// get returns the prepared statement for query (already rebound), or nil
// when the cache is full or preparing failed (the caller then runs the
// query directly, which reports any error in it).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	st, ok := c.m[query]
	full := len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok { // prepared meanwhile by another request
		st.Close()
		return prev
	}
	if len(c.m) >= maxCachedStmts {
		st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// close closes every cached statement (before the pool closes).
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}
