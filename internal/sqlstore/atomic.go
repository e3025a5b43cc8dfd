package sqlstore

import (
	"context"
	"errors"
	"fmt"
)

// Atomic (mfa.Store) runs a caller's function in one write transaction
// and carries that transaction in the context it hands the function:
//   - every statement run through reader(), writer() or a dbtx that is not
//     already a transaction (dbtx.within), with that context, runs on the
//     transaction instead of a pool, so reads see the transaction's own
//     writes and nothing waits for SQLite's single write connection, which
//     the transaction holds;
//   - writeTx joins it inside a SAVEPOINT, so a nested write that fails
//     undoes only its own part (a nested Atomic does the same);
//   - ApplyAuth bypasses the group committer, whose writer goroutine would
//     wait for the connection the transaction holds;
//   - the configuration cache is neither read nor filled inside it (it
//     holds committed values only);
//   - effects that must follow the commit (this process's configuration
//     cache invalidation, SQLite's in-process events) are queued with
//     afterCommit and run once the outermost transaction has ended.
//     pg_notify runs inside the transaction, as always: PostgreSQL
//     delivers it at commit.
//
// The transaction is retried as a whole after a PostgreSQL serialization
// failure or deadlock (writeTx), which is why fn must have no effects
// outside the store. A panic in fn rolls the transaction back and is
// re-raised.

// atomicKey is the context key of a Store's Atomic transaction: one key
// per Store, so that Atomic calls on two stores can nest.
type atomicKey struct{ s *Store }

// atomicTx is one Atomic transaction.
type atomicTx struct {
	c      dbtx     // the transaction
	after  []func() // run after the outermost transaction ends
	points int      // savepoints taken, for unique names
}

// errAtomicPanic stands for a panic while the transaction rolls back.
var errAtomicPanic = errors.New("atomic: panic")

// Atomic runs fn in one transaction; see the file comment.
func (s *Store) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	if at := s.txFrom(ctx); at != nil {
		return s.savepoint(ctx, at, "atomic", func(dbtx) error { return fn(ctx) })
	}
	// Load the code-hash key first: loading it may write, and must not
	// end up in (and roll back with) this transaction.
	if _, err := s.codeKeyFor(ctx); err != nil {
		return err
	}
	s.atomics.Add(1)
	defer s.atomics.Add(-1)
	var (
		panicked any
		last     *atomicTx
	)
	err := s.writeTx(ctx, "atomic", func(c dbtx) (err error) {
		at := &atomicTx{c: c}
		last = at
		defer func() {
			if p := recover(); p != nil {
				panicked, err = p, errAtomicPanic
			}
		}()
		return fn(context.WithValue(ctx, atomicKey{s}, at))
	})
	// After-commit effects are cache invalidations and wake-ups: running
	// them after a rollback (or a commit whose outcome is unknown) costs
	// at most a cache miss or a spurious wake-up, so they always run.
	if last != nil {
		for _, f := range last.after {
			f()
		}
	}
	if panicked != nil {
		panic(panicked)
	}
	return err
}

// txFrom returns the Atomic transaction ctx carries for s, or nil.
func (s *Store) txFrom(ctx context.Context) *atomicTx {
	if s.atomics.Load() == 0 {
		return nil // the common case costs no context lookup
	}
	at, _ := ctx.Value(atomicKey{s}).(*atomicTx)
	return at
}

// afterCommit runs f now, or, inside an Atomic transaction, after it ends.
func (s *Store) afterCommit(ctx context.Context, f func()) {
	if at := s.txFrom(ctx); at != nil {
		at.after = append(at.after, f)
		return
	}
	f()
}

// savepoint runs fn inside the Atomic transaction at, in a savepoint that
// is rolled back if fn fails.
func (s *Store) savepoint(ctx context.Context, at *atomicTx, op string, fn func(c dbtx) error) (err error) {
	at.points++
	name := fmt.Sprintf("sp_%d", at.points)
	if _, err := at.c.q.ExecContext(ctx, `SAVEPOINT `+name); err != nil {
		return s.dbErr(ctx, op, err)
	}
	done := false
	defer func() {
		if !done { // fn panicked: the outer Atomic rolls everything back
			return
		}
		if err != nil {
			if _, rerr := at.c.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT `+name); rerr != nil {
				err = errors.Join(err, s.dbErr(ctx, op, rerr))
				return
			}
		}
		if _, rerr := at.c.q.ExecContext(ctx, `RELEASE SAVEPOINT `+name); rerr != nil && err == nil {
			err = s.dbErr(ctx, op, rerr)
		}
	}()
	err = fn(at.c)
	done = true
	return s.dbErr(ctx, op, err)
}

// within returns the dbtx that runs c's statements under ctx: the Atomic
// transaction ctx carries, unless c already is a transaction.
func (c dbtx) within(ctx context.Context) dbtx {
	if c.tx != nil || c.s == nil {
		return c
	}
	if at := c.s.txFrom(ctx); at != nil {
		return at.c
	}
	return c
}
