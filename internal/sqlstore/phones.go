package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Phones. Activated is not stored: a phone is activated while it has an
// active authenticator. push_muted_until is written only by MutePush.

const phoneCols = `p.id, p.number, p.extension, p.name, p.type, p.platform, p.model,
	EXISTS (SELECT 1 FROM authenticators a WHERE a.phone_id = p.id AND a.status = 'active'),
	p.sms_passcodes_sent, p.created, p.last_seen, p.push_muted_until, p.predelay, p.postdelay`

func scanPhone(r rowScanner) (mfa.Phone, error) {
	var p mfa.Phone
	err := r.Scan(&p.ID, &p.Number, &p.Extension, &p.Name, &p.Type, &p.Platform, &p.Model,
		&p.Activated, &p.SMSPasscodesSent, scanTime{&p.Created}, scanTime{&p.LastSeen}, scanTime{&p.PushMutedUntil},
		scanSeconds{&p.PreDelay}, scanSeconds{&p.PostDelay})
	return p, err
}

// CreatePhone stores a new phone. Activated is ignored: it follows the
// phone's authenticators; so is PushMutedUntil: a new phone is not muted
// (only MutePush writes it).
func (s *Store) CreatePhone(ctx context.Context, p mfa.Phone) error {
	return s.dbErr(ctx, "create phone", insertPhone(ctx, s.writer(), p))
}

// insertPhone is CreatePhone's statement, for use inside a transaction.
func insertPhone(ctx context.Context, c dbtx, p mfa.Phone) error {
	typ := p.Type
	if typ == "" {
		typ = mfa.PhoneUnknown
	}
	_, err := c.exec(ctx, `INSERT INTO phones (id, number, extension, name, type, platform, model,
		sms_passcodes_sent, created, last_seen, predelay, postdelay) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Number, p.Extension, p.Name, typ, p.Platform, p.Model, p.SMSPasscodesSent, p.Created, p.LastSeen,
		seconds(p.PreDelay), seconds(p.PostDelay))
	return err
}

// GetPhone returns the phone with id.
func (s *Store) GetPhone(ctx context.Context, id string) (mfa.Phone, error) {
	p, err := scanPhone(s.reader().row(ctx, `SELECT `+phoneCols+` FROM phones p WHERE p.id = ?`, id))
	if err != nil {
		return mfa.Phone{}, s.dbErr(ctx, "get phone", err, notFound("phone not found"))
	}
	return p, nil
}

// ListPhones lists phones in creation order.
func (s *Store) ListPhones(ctx context.Context, f mfa.PhoneFilter) ([]mfa.Phone, int, error) {
	var w where
	if f.Number != "" {
		w.add(`p.number = ?`, f.Number)
	}
	if f.Extension != "" {
		w.add(`p.extension = ?`, f.Extension)
	}
	return list(ctx, s, "list phones", phoneCols, "phones p", &w, "p.created, p.id", f.Page, scanPhone)
}

// UpdatePhone writes every field but ID, Created, Activated and
// PushMutedUntil.
func (s *Store) UpdatePhone(ctx context.Context, p mfa.Phone) error {
	n, err := s.writer().execN(ctx, `UPDATE phones SET number = ?, extension = ?, name = ?, type = ?,
		platform = ?, model = ?, sms_passcodes_sent = ?, last_seen = ?, predelay = ?, postdelay = ? WHERE id = ?`,
		p.Number, p.Extension, p.Name, p.Type, p.Platform, p.Model, p.SMSPasscodesSent, p.LastSeen,
		seconds(p.PreDelay), seconds(p.PostDelay), p.ID)
	return s.affected(ctx, "update phone", n, err, "phone not found")
}

// DeletePhone deletes the phone; the database cascades to its
// authenticators, SMS batches and user associations.
func (s *Store) DeletePhone(ctx context.Context, id string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM phones WHERE id = ?`, id)
	return s.affected(ctx, "delete phone", n, err, "phone not found")
}

// AttachPhone associates a phone with a user; attaching twice is not an
// error. NotFound if either does not exist.
func (s *Store) AttachPhone(ctx context.Context, userID, phoneID string) error {
	const op = "attach phone"
	return s.writeTx(ctx, op, func(c dbtx) error {
		if err := s.mustExist(ctx, c, op, "users", userID, "user not found"); err != nil {
			return err
		}
		if err := s.mustExist(ctx, c, op, "phones", phoneID, "phone not found"); err != nil {
			return err
		}
		return s.dbErr(ctx, op, attachPhone(ctx, c, userID, phoneID), onFK(mfa.NotFound, "user or phone not found"))
	})
}

// attachPhone associates a phone with a user inside a transaction;
// attaching twice is not an error.
func attachPhone(ctx context.Context, c dbtx, userID, phoneID string) error {
	_, err := c.exec(ctx, `INSERT INTO user_phones (user_id, phone_id) VALUES (?, ?)
		ON CONFLICT (user_id, phone_id) DO NOTHING`, userID, phoneID)
	return err
}

// MutePush sets the phone's PushMutedUntil; a zero until (stored as NULL)
// unmutes it.
func (s *Store) MutePush(ctx context.Context, phoneID string, until time.Time) error {
	n, err := s.writer().execN(ctx, `UPDATE phones SET push_muted_until = ? WHERE id = ?`, until, phoneID)
	return s.affected(ctx, "mute push", n, err, "phone not found")
}

// mustExist is NotFound with msg unless table has a row with id. (A row
// deleted concurrently after this check still fails the caller's insert
// with a foreign-key violation, which maps to NotFound too.)
func (s *Store) mustExist(ctx context.Context, c dbtx, op, table, id, msg string) error {
	ok, err := c.exists(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id)
	if err != nil {
		return s.dbErr(ctx, op, err)
	}
	if !ok {
		return notFoundErr(msg)
	}
	return nil
}

// DetachPhone removes the association; NotFound if there was none.
func (s *Store) DetachPhone(ctx context.Context, userID, phoneID string) error {
	n, err := s.writer().execN(ctx, `DELETE FROM user_phones WHERE user_id = ? AND phone_id = ?`, userID, phoneID)
	return s.affected(ctx, "detach phone", n, err, "phone is not attached to the user")
}

// UserPhones returns the user's phones in creation order.
func (s *Store) UserPhones(ctx context.Context, userID string) ([]mfa.Phone, error) {
	return queryAll(ctx, s, s.reader(), "user phones", `SELECT `+phoneCols+` FROM phones p
		JOIN user_phones up ON up.phone_id = p.id WHERE up.user_id = ? ORDER BY p.created, p.id`,
		[]any{userID}, scanPhone)
}

// PhoneUsers returns the phone's users in creation order.
func (s *Store) PhoneUsers(ctx context.Context, phoneID string) ([]mfa.User, error) {
	return queryAll(ctx, s, s.reader(), "phone users", `SELECT `+userCols+` FROM users u
		JOIN user_phones up ON up.user_id = u.id WHERE up.phone_id = ? ORDER BY u.created, u.id`,
		[]any{phoneID}, scanUser)
}

// seconds stores an optional delay as whole seconds; nil is NULL.
func seconds(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return int64(*d / time.Second)
}

// scanSeconds reads an optional delay stored by seconds.
type scanSeconds struct{ d **time.Duration }

func (s scanSeconds) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.d = nil
	case int64:
		d := time.Duration(v) * time.Second
		*s.d = &d
	case int32:
		d := time.Duration(v) * time.Second
		*s.d = &d
	default:
		return fmt.Errorf("scan seconds: unexpected %T", src)
	}
	return nil
}
