package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Group commit (SQLite). SQLite has one writer; each transaction costs a
// BEGIN IMMEDIATE, a COMMIT (a WAL append) and a hand-over of the single
// write connection. With Options.GroupCommit, ApplyAuth calls queue for one
// writer goroutine instead, which takes every unit waiting (up to
// maxGroup), applies them in one transaction, each inside its own
// SAVEPOINT, and answers each caller after the COMMIT. A unit whose guard
// loses (or that fails otherwise) is rolled back to its savepoint alone and
// its caller gets its error; its neighbours are unaffected. If the COMMIT
// itself fails, every caller of the group gets that error and nothing of
// the group is written, as with a failed single transaction.
//
// Statements of a group run under the writer's own context, never a
// caller's: cancelling a statement in SQLite can roll back the whole
// transaction. A caller whose context ends while it waits to be taken
// gets its context's error and its unit is not applied; once taken, its
// unit completes and the caller gets the result.

// maxGroup bounds how many units one transaction carries.
const maxGroup = 128

type groupCommit struct {
	s    *Store
	reqs chan *gcReq
	quit chan struct{}
	done chan struct{}
	once sync.Once

	groups, units atomic.Int64 // transactions run and units they carried
}

type gcReq struct {
	ctx   context.Context
	u     authUnit
	fn    func(ctx context.Context, c dbtx) error // instead of u, when set
	out   mfa.AuthOutcome
	err   error
	ready chan struct{}
}

var errStoreClosed = &mfa.Error{Kind: mfa.Unavailable, Msg: "store closed"}

func newGroupCommit(s *Store) *groupCommit {
	g := &groupCommit{s: s, reqs: make(chan *gcReq), quit: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// apply queues u and waits for its group's commit.
func (g *groupCommit) apply(ctx context.Context, u authUnit) (mfa.AuthOutcome, error) {
	r := &gcReq{ctx: ctx, u: u, ready: make(chan struct{})}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return mfa.AuthOutcome{}, g.s.dbErr(ctx, "apply auth", ctx.Err())
	case <-g.quit:
		return mfa.AuthOutcome{}, errStoreClosed
	}
	<-r.ready
	return r.out, r.err
}

// do queues fn, a small self-contained write such as a signature claim,
// to run in the next group (in its own savepoint) and waits for the commit.
func (g *groupCommit) do(ctx context.Context, fn func(ctx context.Context, c dbtx) error) error {
	r := &gcReq{ctx: ctx, fn: fn, ready: make(chan struct{})}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return g.s.dbErr(ctx, "group write", ctx.Err())
	case <-g.quit:
		return errStoreClosed
	}
	<-r.ready
	return r.err
}

func (g *groupCommit) close() {
	g.once.Do(func() { close(g.quit) })
	<-g.done
}

func (g *groupCommit) run() {
	defer close(g.done)
	group := make([]*gcReq, 0, maxGroup)
	for {
		group = group[:0]
		select {
		case r := <-g.reqs:
			group = append(group, r)
		case <-g.quit:
			return
		}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-g.reqs:
				group = append(group, r)
			default:
				break drain
			}
		}
		g.commit(group)
		g.groups.Add(1)
		g.units.Add(int64(len(group)))
		for _, r := range group {
			close(r.ready)
		}
		g.s.wstmts.prepareWanted(context.Background())
	}
}

// commit applies one group in one transaction.
func (g *groupCommit) commit(group []*gcReq) {
	s := g.s
	ctx := context.Background()
	const op = "apply auth"
	fail := func(err error) {
		for _, r := range group {
			if r.err == nil {
				r.out, r.err = mfa.AuthOutcome{}, err
			}
		}
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		fail(s.dbErr(ctx, op, err))
		return
	}
	c := s.inTx(tx)
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = s.dbErr(r.ctx, op, err)
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT auth_unit`); err != nil {
			tx.Rollback()
			fail(s.dbErr(ctx, op, err))
			return
		}
		if r.fn != nil {
			r.err = r.fn(ctx, c)
		} else {
			r.out, r.err = s.applyAuth(ctx, c, r.u)
		}
		if k, ok := asKept(r.err); ok {
			r.err = k // its writes so far stay: release, not roll back
		} else if r.err != nil {
			r.out = mfa.AuthOutcome{}
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO auth_unit`); err != nil {
				tx.Rollback()
				fail(s.dbErr(ctx, op, err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE auth_unit`); err != nil {
			tx.Rollback()
			fail(s.dbErr(ctx, op, err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		// Nothing of the group was written: units that had succeeded fail
		// with the commit's error; units that had failed keep theirs.
		fail(s.dbErr(ctx, op, err))
		return
	}
	s.ckpt.committed(int64(len(group)))
}
