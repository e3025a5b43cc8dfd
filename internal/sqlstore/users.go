package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Users. Usernames and aliases share one case-insensitive namespace, the
// user_names table (name_lower PRIMARY KEY); users.aliases keeps the
// aliases as given, in order, for reading.

const userCols = `u.id, u.username, u.real_name, u.first_name, u.last_name, u.email, u.status,
	u.aliases, u.notes, u.created, u.last_login, u.failed_attempts, u.locked_at, u.default_device, u.default_method`

func scanUser(r rowScanner) (mfa.User, error) {
	var u mfa.User
	var aliases string
	err := r.Scan(&u.ID, &u.Username, &u.RealName, &u.FirstName, &u.LastName, &u.Email, &u.Status,
		&aliases, &u.Notes, scanTime{&u.Created}, scanTime{&u.LastLogin}, &u.FailedAttempts, scanTime{&u.LockedAt},
		&u.DefaultDevice, &u.DefaultMethod)
	if err != nil {
		return mfa.User{}, err
	}
	if aliases != "" && aliases != "[]" {
		if err := json.Unmarshal([]byte(aliases), &u.Aliases); err != nil {
			return mfa.User{}, fmt.Errorf("user %s: aliases: %w", u.ID, err)
		}
	}
	return u, nil
}

func aliasesJSON(aliases []string) string {
	if len(aliases) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(aliases) // []string always marshals
	return string(b)
}

// insertNames claims the user's username and aliases in user_names.
func (s *Store) insertNames(ctx context.Context, c dbtx, op string, u mfa.User) error {
	const ins = `INSERT INTO user_names (name_lower, user_id, is_alias) VALUES (?, ?, ?)`
	if _, err := c.exec(ctx, ins, strings.ToLower(u.Username), u.ID, false); err != nil {
		return s.dbErr(ctx, op, err, onUnique("username", "username already exists"))
	}
	for _, a := range u.Aliases {
		if a == "" {
			continue
		}
		if _, err := c.exec(ctx, ins, strings.ToLower(a), u.ID, true); err != nil {
			return s.dbErr(ctx, op, err, onUnique("aliases", fmt.Sprintf("alias %q is already a username or alias", a)))
		}
	}
	return nil
}

// CreateUser stores a new user. A username or alias already taken by any
// user (as username or alias, case-insensitively) is Conflict.
func (s *Store) CreateUser(ctx context.Context, u mfa.User) error {
	const op = "create user"
	status := u.Status
	if status == "" {
		status = mfa.StatusActive
	}
	return s.writeTx(ctx, op, func(c dbtx) error {
		_, err := c.exec(ctx, `INSERT INTO users (id, username, real_name, first_name, last_name, email, email_lower,
			status, aliases, notes, created, last_login, failed_attempts, locked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, u.RealName, u.FirstName, u.LastName, u.Email, strings.ToLower(u.Email),
			status, aliasesJSON(u.Aliases), u.Notes, u.Created, u.LastLogin, u.FailedAttempts, u.LockedAt)
		if err != nil {
			return s.dbErr(ctx, op, err)
		}
		return s.insertNames(ctx, c, op, u)
	})
}

// GetUser returns the user with id.
func (s *Store) GetUser(ctx context.Context, id string) (mfa.User, error) {
	u, err := scanUser(s.reader().row(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, id))
	if err != nil {
		return mfa.User{}, s.dbErr(ctx, "get user", err, notFound("user not found"))
	}
	return u, nil
}

// GetUserByName finds a user by username or alias, case-insensitively.
func (s *Store) GetUserByName(ctx context.Context, name string) (mfa.User, error) {
	u, err := scanUser(s.reader().row(ctx, `SELECT `+userCols+` FROM users u
		JOIN user_names n ON n.user_id = u.id WHERE n.name_lower = ?`, strings.ToLower(name)))
	if err != nil {
		return mfa.User{}, s.dbErr(ctx, "get user by name", err, notFound("user not found"))
	}
	return u, nil
}

// ListUsers lists users in creation order.
func (s *Store) ListUsers(ctx context.Context, f mfa.UserFilter) ([]mfa.User, int, error) {
	var w where
	if f.Username != "" {
		w.add(`u.id IN (SELECT user_id FROM user_names WHERE name_lower = ?)`, strings.ToLower(f.Username))
	}
	if f.Email != "" {
		w.add(`u.email_lower = ?`, strings.ToLower(f.Email))
	}
	in(&w, "u.id", f.IDs)
	if len(f.Usernames) > 0 {
		lower := make([]string, len(f.Usernames))
		for i, n := range f.Usernames {
			lower[i] = strings.ToLower(n)
		}
		w.add(`u.id IN (SELECT user_id FROM user_names WHERE is_alias = FALSE AND name_lower IN (`+placeholders(len(lower))+`))`,
			anys(lower)...)
	}
	if q := strings.ToLower(strings.TrimSpace(f.Search)); q != "" {
		like := "%" + likeEscape(q) + "%"
		cond := `(u.id IN (SELECT user_id FROM user_names WHERE name_lower LIKE ? ESCAPE '\') OR u.email_lower LIKE ? ESCAPE '\'
			OR LOWER(u.real_name) LIKE ? ESCAPE '\'`
		args := []any{like, like, like}
		if d := mfa.SearchDigits(q); d != "" {
			cond += ` OR u.id IN (SELECT up.user_id FROM user_phones up JOIN phones p ON p.id = up.phone_id WHERE p.number LIKE ?)`
			args = append(args, "%"+d+"%")
		}
		w.add(cond+`)`, args...)
	}
	return list(ctx, s, "list users", userCols, "users u", &w, "u.created, u.id", f.Page, scanUser)
}

// likeEscape escapes LIKE's wildcards (with ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func anys[T any](vals []T) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// UpdateUser writes the profile fields, status and aliases. It does not
// touch FailedAttempts, Created or LastLogin; LockedAt is kept while the
// user stays locked out and cleared otherwise (LockedAt is zero unless
// Status is LockedOut).
// SetUserDefaults sets the user's default device and method.
func (s *Store) SetUserDefaults(ctx context.Context, userID, device, method string) error {
	n, err := s.writer().execN(ctx, `UPDATE users SET default_device = ?, default_method = ? WHERE id = ?`, device, method, userID)
	return s.affected(ctx, "set user defaults", n, err, "user not found")
}

func (s *Store) UpdateUser(ctx context.Context, u mfa.User) error {
	const op = "update user"
	lockedAt := ""
	if u.Status != mfa.StatusLockedOut {
		lockedAt = ", locked_at = NULL"
	}
	return s.writeTx(ctx, op, func(c dbtx) error {
		n, err := c.execN(ctx, `UPDATE users SET username = ?, real_name = ?, first_name = ?, last_name = ?,
			email = ?, email_lower = ?, status = ?, aliases = ?, notes = ?`+lockedAt+` WHERE id = ?`,
			u.Username, u.RealName, u.FirstName, u.LastName, u.Email, strings.ToLower(u.Email),
			u.Status, aliasesJSON(u.Aliases), u.Notes, u.ID)
		if err := s.affected(ctx, op, n, err, "user not found"); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM user_names WHERE user_id = ?`, u.ID); err != nil {
			return s.dbErr(ctx, op, err)
		}
		return s.insertNames(ctx, c, op, u)
	})
}

// DeleteUser deletes the user; the database cascades to their names,
// bypass codes, SMS batches and phone and token associations.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM users WHERE id = ?`, id)
	return s.affected(ctx, "delete user", n, err, "user not found")
}

// ResetAuthFailures clears the failure count and unlocks a locked-out user.
func (s *Store) ResetAuthFailures(ctx context.Context, userID string) error {
	n, err := s.writer().execN(ctx, `UPDATE users SET failed_attempts = 0, lockout_failure = 0, locked_at = NULL,
		status = CASE WHEN status = 'locked out' THEN 'active' ELSE status END WHERE id = ?`, userID)
	return s.affected(ctx, "reset auth failures", n, err, "user not found")
}

// LockUser reads the user's row with the dialect's row lock (PostgreSQL:
// FOR NO KEY UPDATE, held until the Atomic transaction ends; SQLite's
// single writer already serializes write transactions). It runs on the
// writer, so inside Atomic it is that transaction's statement.
func (s *Store) LockUser(ctx context.Context, userID string) error {
	return s.lockRow(ctx, "lock user", "users", userID, "user not found")
}

// lockRow reads the row of table with id with the dialect's row lock, on
// the writer (so, inside Atomic, in its transaction); NotFound (msg) when
// there is none.
func (s *Store) lockRow(ctx context.Context, op, table, id, msg string) error {
	ok, err := s.writer().exists(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`+s.d.forUpdate, id)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if !ok {
		return mfa.E(mfa.NotFound, msg)
	}
	return nil
}

// UnlockExpired makes active (with a fresh failure count) every user locked
// out at or before lockedBefore.
func (s *Store) UnlockExpired(ctx context.Context, lockedBefore time.Time) (int, error) {
	n, err := s.writer().execN(ctx, `UPDATE users SET status = 'active', failed_attempts = 0, lockout_failure = 0, locked_at = NULL
		WHERE status = 'locked out' AND locked_at <= ?`, lockedBefore)
	if err != nil {
		return 0, s.dbErr(ctx, "unlock expired", err)
	}
	return int(n), nil
}

// recordFailure adds one failure to the user in a single conditional
// UPDATE: at threshold (> 0) consecutive failures an active user becomes
// locked out. lockout_failure remembers the count at which that happened,
// so exactly the failure that locked the user reports LockedOut, however
// many race.
func (s *Store) recordFailure(ctx context.Context, c dbtx, userID string, threshold int, at time.Time) (mfa.FailureResult, error) {
	const lock = `status = 'active' AND ? > 0 AND failed_attempts + 1 >= ?`
	var r mfa.FailureResult
	var lockoutFailure int
	err := c.row(ctx, `UPDATE users SET failed_attempts = failed_attempts + 1,
		lockout_failure = CASE WHEN `+lock+` THEN failed_attempts + 1 ELSE lockout_failure END,
		locked_at = CASE WHEN `+lock+` THEN ? ELSE locked_at END,
		status = CASE WHEN `+lock+` THEN 'locked out' ELSE status END
		WHERE id = ? RETURNING failed_attempts, status, lockout_failure`,
		threshold, threshold, threshold, threshold, at, threshold, threshold, userID).
		Scan(&r.FailedAttempts, &r.Status, &lockoutFailure)
	if err != nil {
		return r, s.dbErr(ctx, "record failure", err, notFound("user not found"))
	}
	r.LockedOut = r.Status == mfa.StatusLockedOut && lockoutFailure == r.FailedAttempts
	return r, nil
}
