package sqlstore

import (
	"context"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Bulk creation of users with their devices, for populating a database
// for scale tests (twostepd gen-users). It writes the same rows, sealed
// the same way, as CreateUser, CreatePhone, CreateToken, AttachPhone and
// AttachToken, but a whole batch in one transaction of multi-row INSERTs
// (on SQLite one large write transaction; on PostgreSQL a few statements
// per table, each carrying hundreds of rows).

// BulkUser is one user with the phones and tokens to create and attach
// to it.
type BulkUser struct {
	User   mfa.User
	Phones []mfa.Phone
	Tokens []mfa.Token
}

// maxBulkParams bounds the parameters of one multi-row INSERT, below
// SQLite's limit (32,766) and PostgreSQL's (65,535).
const maxBulkParams = 30000

// BulkCreateUsers creates the batch's users with their phones and tokens
// in one transaction. A user whose username is already taken (as username
// or alias) is skipped with its devices, so that a generator re-run over
// the same names resumes where it stopped: it returns how many users it
// created. Any other conflict (an id or a token serial already used)
// fails the whole batch and writes nothing. Aliases are not supported
// (Invalid): bulk users have only a username.
func (s *Store) BulkCreateUsers(ctx context.Context, batch []BulkUser) (int, error) {
	const op = "bulk create users"
	if len(batch) == 0 {
		return 0, nil
	}
	names := make([]any, 0, len(batch))
	for _, b := range batch {
		if len(b.User.Aliases) > 0 {
			return 0, &mfa.Error{Kind: mfa.Invalid, Field: "aliases", Msg: "bulk users cannot have aliases"}
		}
		if b.User.ID == "" || b.User.Username == "" {
			return 0, &mfa.Error{Kind: mfa.Invalid, Field: "username", Msg: "bulk users need an id and a username"}
		}
		names = append(names, strings.ToLower(b.User.Username))
	}
	// Seal outside the transaction: it is CPU work only.
	type sealedToken struct{ secret, privateID, aesKey []byte }
	sealed := make([][]sealedToken, len(batch))
	for i, b := range batch {
		for _, t := range b.Tokens {
			var st sealedToken
			var err error
			if st.secret, err = s.seal(t.Secret, "tokens", "secret", t.ID); err != nil {
				return 0, err
			}
			if st.privateID, err = s.seal(t.PrivateID, "tokens", "private_id", t.ID); err != nil {
				return 0, err
			}
			if st.aesKey, err = s.seal(t.AESKey, "tokens", "aes_key", t.ID); err != nil {
				return 0, err
			}
			sealed[i] = append(sealed[i], st)
		}
	}
	created := 0
	err := s.writeTx(ctx, op, func(c dbtx) error {
		created = 0
		taken := map[string]bool{}
		for chunk := range chunks(names, maxBulkParams) {
			rows, err := c.query(ctx, `SELECT name_lower FROM user_names WHERE name_lower IN (`+placeholders(len(chunk))+`)`, chunk...)
			if err != nil {
				return s.dbErr(ctx, op, err)
			}
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					rows.Close()
					return s.dbErr(ctx, op, err)
				}
				taken[n] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return s.dbErr(ctx, op, err)
			}
		}
		var users, userNames, phones, userPhones, tokens, userTokens [][]any
		for i, b := range batch {
			u := b.User
			lower := strings.ToLower(u.Username)
			if taken[lower] {
				continue
			}
			taken[lower] = true // a name twice in one batch: the first wins
			created++
			status := u.Status
			if status == "" {
				status = mfa.StatusActive
			}
			users = append(users, []any{u.ID, u.Username, u.RealName, u.FirstName, u.LastName, u.Email,
				strings.ToLower(u.Email), status, "[]", u.Notes, u.Created, u.LastLogin, u.FailedAttempts, u.LockedAt})
			userNames = append(userNames, []any{lower, u.ID, false})
			for _, p := range b.Phones {
				typ := p.Type
				if typ == "" {
					typ = mfa.PhoneUnknown
				}
				phones = append(phones, []any{p.ID, p.Number, p.Extension, p.Name, typ, p.Platform, p.Model,
					p.SMSPasscodesSent, p.Created, p.LastSeen, seconds(p.PreDelay), seconds(p.PostDelay)})
				userPhones = append(userPhones, []any{u.ID, p.ID})
			}
			for j, t := range b.Tokens {
				st := sealed[i][j]
				tokens = append(tokens, []any{t.ID, t.Type, t.Serial, st.secret, t.Counter, t.TOTPStep, t.LastStep,
					st.privateID, st.aesKey, int64(t.YKCounter), t.Created})
				userTokens = append(userTokens, []any{u.ID, t.ID})
			}
		}
		inserts := []struct {
			table, cols string
			rows        [][]any
		}{
			{"users", "id, username, real_name, first_name, last_name, email, email_lower, status, aliases, notes, created, last_login, failed_attempts, locked_at", users},
			{"user_names", "name_lower, user_id, is_alias", userNames},
			{"phones", "id, number, extension, name, type, platform, model, sms_passcodes_sent, created, last_seen, predelay, postdelay", phones},
			{"user_phones", "user_id, phone_id", userPhones},
			{"tokens", "id, type, serial, secret, counter, totp_step, last_step, private_id, aes_key, yk_counter, created", tokens},
			{"user_tokens", "user_id, token_id", userTokens},
		}
		for _, in := range inserts {
			if err := insertRows(ctx, c, in.table, in.cols, in.rows); err != nil {
				return s.dbErr(ctx, op, err, onUnique("", in.table+": a row of the batch already exists"))
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

// insertRows inserts rows into table as multi-row INSERT statements of at
// most maxBulkParams parameters each.
func insertRows(ctx context.Context, c dbtx, table, cols string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	tuple := "(" + placeholders(width) + ")"
	per := max(maxBulkParams/width, 1)
	for len(rows) > 0 {
		n := min(per, len(rows))
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		args := make([]any, 0, n*width)
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(tuple)
			args = append(args, r...)
		}
		// Run unprepared: these one-off shapes stay out of the cache.
		args, err := c.d.args(args)
		if err != nil {
			return err
		}
		if _, err := c.q.ExecContext(ctx, c.d.rebind(q.String()), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// chunks yields s in pieces of at most n.
func chunks(s []any, n int) func(yield func([]any) bool) {
	return func(yield func([]any) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
