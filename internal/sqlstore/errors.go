package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// errOpt overrides how dbErr maps one class of error for one call.
type errOpt func(*errOpts)

type errOpts struct {
	notFound string     // message for sql.ErrNoRows
	unique   *mfa.Error // replaces the constraint table's Conflict
	fk       *mfa.Error // replaces the default NotFound
}

// notFound names the missing object for sql.ErrNoRows: "user not found".
func notFound(msg string) errOpt { return func(o *errOpts) { o.notFound = msg } }

// onUnique reports a unique violation as Conflict with field and msg.
func onUnique(field, msg string) errOpt {
	return func(o *errOpts) { o.unique = &mfa.Error{Kind: mfa.Conflict, Field: field, Msg: msg} }
}

// onFK reports a foreign-key violation as kind with msg.
func onFK(kind mfa.Kind, msg string) errOpt {
	return func(o *errOpts) { o.fk = &mfa.Error{Kind: kind, Msg: msg} }
}

// dbErr is the one place that maps an error from the database, met during
// operation op ("get user"), to the store's error vocabulary:
//   - an *mfa.Error (already classified) passes through unchanged;
//   - when ctx is done, the context's error passes through, wrapped;
//   - sql.ErrNoRows is NotFound (never a zero value and nil);
//   - a unique violation is Conflict naming what is taken;
//   - a foreign-key violation is NotFound (or what onFK says);
//   - a lock held too long, or a serialization failure left after the
//     retries, is Unavailable;
//   - a database that cannot be reached (connection refused or lost, a
//     file that cannot be opened) is Unavailable with
//     mfa.ErrStoreUnreachable in its chain;
//   - everything else is Internal, wrapped as "op: cause".
func (s *Store) dbErr(ctx context.Context, op string, err error, opts ...errOpt) error {
	if err == nil {
		return nil
	}
	var me *mfa.Error
	if errors.As(err, &me) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("%s: %w", op, err)
		}
		return fmt.Errorf("%s: %w (%v)", op, ctxErr, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var o errOpts
	for _, opt := range opts {
		opt(&o)
	}
	cause := fmt.Errorf("%s: %w", op, err)
	if errors.Is(err, sql.ErrNoRows) {
		msg := o.notFound
		if msg == "" {
			msg = "not found"
		}
		return &mfa.Error{Kind: mfa.NotFound, Msg: msg, Err: cause}
	}
	class, constraint := s.d.classify(err)
	switch class {
	case errUnique:
		if o.unique != nil {
			return &mfa.Error{Kind: mfa.Conflict, Field: o.unique.Field, Msg: o.unique.Msg, Err: cause}
		}
		if c, ok := s.d.lookupUnique(constraint); ok {
			return &mfa.Error{Kind: mfa.Conflict, Field: c.field, Msg: c.msg, Err: cause}
		}
		return &mfa.Error{Kind: mfa.Conflict, Msg: "already exists", Err: cause}
	case errForeignKey:
		if o.fk != nil {
			return &mfa.Error{Kind: o.fk.Kind, Msg: o.fk.Msg, Err: cause}
		}
		return &mfa.Error{Kind: mfa.NotFound, Msg: "a referenced object does not exist", Err: cause}
	case errBusy, errRetry:
		return &mfa.Error{Kind: mfa.Unavailable, Msg: "database busy; try again", Err: cause}
	case errUnreachable:
		return &mfa.Error{Kind: mfa.Unavailable, Msg: "database unreachable; try again",
			Err: fmt.Errorf("%w: %w", mfa.ErrStoreUnreachable, cause)}
	}
	return cause
}

// notFoundErr is NotFound with msg, for a statement that changed no row.
func notFoundErr(msg string) error { return &mfa.Error{Kind: mfa.NotFound, Msg: msg} }

// conflictErr is Conflict with msg.
func conflictErr(msg string) error { return &mfa.Error{Kind: mfa.Conflict, Msg: msg} }
