package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Activation codes are stored only as keyed hashes (codeHash with purpose
// hashActivation), unique across all users: redeeming one is a single
// conditional UPDATE on the unique code_hash index.

const activationCols = `id, user_id, COALESCE(phone_id, ''), created, expires, redeemed`

func scanActivation(r rowScanner) (mfa.Activation, error) {
	var a mfa.Activation
	err := r.Scan(&a.ID, &a.UserID, &a.PhoneID, scanTime{&a.Created}, scanTime{&a.Expires}, scanTime{&a.Redeemed})
	return a, err
}

// errUnknownActivation is the one answer to a code that cannot be
// redeemed, whether it is unknown, used or expired: callers (and the people
// behind them) learn nothing about which.
func errUnknownActivation() error { return notFoundErr("unknown activation code") }

// CreateActivation stores a new activation code as its keyed hash.
// Redeemed is ignored: a new code is unredeemed. An empty Code or a zero
// Expires is Invalid (a code that never expires is not stored). An unknown
// user or phone is NotFound; an id or a code already stored is Conflict.
func (s *Store) CreateActivation(ctx context.Context, a mfa.Activation) error {
	const op = "create activation"
	if a.Code == "" {
		return mfa.InvalidField("code", "an activation needs a code")
	}
	if a.Expires.IsZero() {
		return mfa.InvalidField("expires", "an activation code must expire")
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return err
	}
	var phoneID any // NULL: redeeming creates a phone
	if a.PhoneID != "" {
		phoneID = a.PhoneID
	}
	_, err = s.writer().exec(ctx, `INSERT INTO activations (id, code_hash, user_id, phone_id, created, expires)
		VALUES (?, ?, ?, ?, ?, ?)`, a.ID, codeHash(key, hashActivation, a.Code), a.UserID, phoneID, a.Created, a.Expires)
	if err == nil {
		return nil
	}
	if class, _ := s.d.classify(err); class == errForeignKey {
		return s.dbErr(ctx, op, err, onFK(mfa.NotFound, s.missingActivationOwner(ctx, a.UserID)))
	}
	return s.dbErr(ctx, op, err)
}

// missingActivationOwner names what a foreign-key violation of an
// activation insert referred to: SQLite does not say which key failed.
func (s *Store) missingActivationOwner(ctx context.Context, userID string) string {
	if ok, err := s.writer().exists(ctx, `SELECT 1 FROM users WHERE id = ?`, userID); err == nil && ok {
		return "phone not found"
	}
	return "user not found"
}

// GetActivation returns the activation with id (Code empty).
func (s *Store) GetActivation(ctx context.Context, id string) (mfa.Activation, error) {
	a, err := scanActivation(s.reader().row(ctx, `SELECT `+activationCols+` FROM activations WHERE id = ?`, id))
	if err != nil {
		return mfa.Activation{}, s.dbErr(ctx, "get activation", err, notFound("activation not found"))
	}
	return a, nil
}

// RedeemActivation marks redeemed at now the unredeemed activation with
// this code that expires after now, in one conditional UPDATE ...
// RETURNING: of concurrent redeemers of one code exactly one gets a row.
// Every other outcome (unknown, used, expired) is the same NotFound.
func (s *Store) RedeemActivation(ctx context.Context, code mfa.Passcode, now time.Time) (mfa.Activation, error) {
	const op = "redeem activation"
	if now.IsZero() {
		// A zero time would be stored as NULL, leaving the code unredeemed.
		return mfa.Activation{}, fmt.Errorf("%s: zero time", op)
	}
	if code == "" {
		return mfa.Activation{}, errUnknownActivation()
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return mfa.Activation{}, err
	}
	return s.redeemActivation(ctx, s.writer(), op, codeHash(key, hashActivation, code), now)
}

// redeemActivation is RedeemActivation's one conditional UPDATE, on c (the
// write pool or a transaction), for the code with this hash.
func (s *Store) redeemActivation(ctx context.Context, c dbtx, op string, hash []byte, now time.Time) (mfa.Activation, error) {
	a, err := scanActivation(c.row(ctx, `UPDATE activations SET redeemed = ?
		WHERE code_hash = ? AND redeemed IS NULL AND expires > ?
		RETURNING `+activationCols, now, hash, now))
	if isNoRows(err) {
		return mfa.Activation{}, errUnknownActivation()
	}
	if err != nil {
		return mfa.Activation{}, s.dbErr(ctx, op, err)
	}
	return a, nil
}

// ActivationByCode returns the activation with this code, redeemed or
// expired alike (until the reaper deletes it), with Code empty.
func (s *Store) ActivationByCode(ctx context.Context, code mfa.Passcode) (mfa.Activation, error) {
	const op = "activation by code"
	if code == "" {
		return mfa.Activation{}, errUnknownActivation()
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return mfa.Activation{}, err
	}
	a, err := scanActivation(s.reader().row(ctx, `SELECT `+activationCols+` FROM activations WHERE code_hash = ?`,
		codeHash(key, hashActivation, code)))
	if isNoRows(err) {
		return mfa.Activation{}, errUnknownActivation()
	}
	if err != nil {
		return mfa.Activation{}, s.dbErr(ctx, op, err)
	}
	return a, nil
}

// CompleteActivation is the device side of an activation, in one write
// transaction: RedeemActivation's conditional UPDATE (so of concurrent
// completions of one code exactly one gets the row; the others find none
// and change nothing), then, when the activation names no phone,
// CreatePhone's insert of newPhone and AttachPhone's association with the
// activation's user, then ActivateAuthenticator's statements for auth on
// that phone, and the deletion of the spare codes (voidSpareActivations).
// Any failure rolls the whole transaction back: the code stays
// redeemable and no phone or install is left behind. The secrets are
// sealed, and the code hashed, before the transaction begins.
func (s *Store) CompleteActivation(ctx context.Context, code mfa.Passcode, now time.Time, newPhone mfa.Phone,
	auth mfa.Authenticator) (mfa.Activation, mfa.Authenticator, error) {
	const op = "complete activation"
	if now.IsZero() {
		return mfa.Activation{}, mfa.Authenticator{}, fmt.Errorf("%s: zero time", op)
	}
	if code == "" {
		return mfa.Activation{}, mfa.Authenticator{}, errUnknownActivation()
	}
	key, err := s.codeKeyFor(ctx)
	if err != nil {
		return mfa.Activation{}, mfa.Authenticator{}, err
	}
	hash := codeHash(key, hashActivation, code)
	sealed, err := s.sealAuthenticator(auth)
	if err != nil {
		return mfa.Activation{}, mfa.Authenticator{}, err
	}
	var a mfa.Activation
	var stored mfa.Authenticator
	err = s.writeTx(ctx, op, func(c dbtx) error {
		var err error
		if a, err = s.redeemActivation(ctx, c, op, hash, now); err != nil {
			return err
		}
		phoneID := a.PhoneID
		if phoneID == "" {
			if newPhone.ID == "" {
				return mfa.InvalidField("phone_id", "the activation creates a phone, which needs an id")
			}
			if err := insertPhone(ctx, c, newPhone); err != nil {
				return s.dbErr(ctx, op, err)
			}
			if err := attachPhone(ctx, c, a.UserID, newPhone.ID); err != nil {
				return s.dbErr(ctx, op, err, onFK(mfa.NotFound, "user not found"))
			}
			phoneID = newPhone.ID
		}
		if err := voidSpareActivations(ctx, c, a); err != nil {
			return s.dbErr(ctx, op, err)
		}
		in := auth
		in.PhoneID, in.UserID = phoneID, a.UserID
		if err := s.activateAuthenticator(ctx, c, op, in, sealed); err != nil {
			return err
		}
		stored, err = s.scanAuthenticator(c.row(ctx, `SELECT `+authenticatorCols+` FROM authenticators a WHERE a.id = ?`, in.ID))
		return s.dbErr(ctx, op, err)
	})
	if err != nil {
		return mfa.Activation{}, mfa.Authenticator{}, err
	}
	return a, stored, nil
}

// voidSpareActivations deletes, on c, every other unredeemed activation
// of the redeemed activation a's phone and every unredeemed activation of
// a's user that names no phone (an enrolment): once one code is redeemed,
// a spare one must not replace the install it made (or add a phone).
func voidSpareActivations(ctx context.Context, c dbtx, a mfa.Activation) error {
	var phoneID any // NULL matches no row: an enrolment code has no siblings by phone
	if a.PhoneID != "" {
		phoneID = a.PhoneID
	}
	_, err := c.exec(ctx, `DELETE FROM activations WHERE id <> ? AND redeemed IS NULL
		AND (phone_id = ? OR (user_id = ? AND phone_id IS NULL))`, a.ID, phoneID, a.UserID)
	return err
}

// DeleteExpiredActivations deletes the activations that expired or were
// redeemed at or before now (a code whose expiry is now can no longer be
// redeemed), returning how many.
func (s *Store) DeleteExpiredActivations(ctx context.Context, now time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `DELETE FROM activations WHERE expires <= ? OR redeemed <= ?`, now, now)
	if err != nil {
		return 0, s.dbErr(ctx, "delete expired activations", err)
	}
	return int(n), nil
}
