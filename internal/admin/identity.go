package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Identity answers for self-service bypass codes (seed 003): a PIN the user
// sets (an administrator may set or clear it too), or a date of birth and
// the last four digits of an ID number, which administrators set or
// import. The store keeps only keyed hashes; nothing ever shows an answer
// back, only whether one is set.

// PIN policy.
const (
	MinPINLen = 6
	MaxPINLen = 12
)

// Import limits.
const (
	MaxIdentityImportRows  = 10000
	MaxIdentityImportBytes = 1 << 20
)

// Field names of identity answers (API parameters, form fields, CSV columns).
const (
	FieldPIN     = "pin"
	FieldDOB     = "dob"
	FieldIDLast4 = "id_last4"
)

// CheckPIN reports, as an Invalid error on field "pin" naming the
// problem, why pin cannot be a self-service PIN: 6 to 12 digits, not all
// the same digit, not a run up or down (123456, 987654, 890123).
func CheckPIN(pin string) error {
	bad := func(msg string) error { return mfa.InvalidField(FieldPIN, msg) }
	switch {
	case pin == "":
		return bad("Enter a PIN.")
	case strings.Trim(pin, "0123456789") != "":
		return bad("A PIN is digits only (no spaces, letters or symbols).")
	case len(pin) < MinPINLen || len(pin) > MaxPINLen:
		return bad(fmt.Sprintf("A PIN is %d to %d digits; this one has %d.", MinPINLen, MaxPINLen, len(pin)))
	case strings.Count(pin, pin[:1]) == len(pin):
		return bad("A PIN cannot be the same digit repeated. Choose digits that are hard to guess.")
	}
	up, down := true, true
	for i := 1; i < len(pin); i++ {
		d := (int(pin[i]) - int(pin[i-1]) + 10) % 10
		up = up && d == 1
		down = down && d == 9
	}
	if up || down {
		return bad("A PIN cannot be a run of digits such as 123456 or 987654. Choose digits that are hard to guess.")
	}
	return nil
}

// DOBIDAnswer checks a date of birth (YYYY-MM-DD, a real date between
// 1900-01-01 and today) and the last four digits of an ID number, and
// returns the answer the store keeps the hash of. Errors are Invalid on
// field "dob" or "id_last4", naming the problem.
func DOBIDAnswer(dob, last4 string, now time.Time) (mfa.Passcode, error) {
	dob, last4 = strings.TrimSpace(dob), strings.TrimSpace(last4)
	if dob == "" {
		return "", mfa.InvalidField(FieldDOB, "Enter the date of birth as YYYY-MM-DD, for example 1984-03-07.")
	}
	d, err := time.Parse("2006-01-02", dob)
	if err != nil {
		return "", mfa.InvalidField(FieldDOB, "A date of birth is YYYY-MM-DD, for example 1984-03-07, and a real date.")
	}
	if d.Year() < 1900 || d.After(now) {
		return "", mfa.InvalidField(FieldDOB, "A date of birth is between 1900-01-01 and today.")
	}
	if len(last4) != 4 || strings.Trim(last4, "0123456789") != "" {
		return "", mfa.InvalidField(FieldIDLast4, "Enter exactly the last 4 digits of the ID number.")
	}
	return mfa.Passcode(d.Format("2006-01-02") + "|" + last4), nil
}

// UserIdentity reports which identity answers a user has (never the
// answers).
func (s *Service) UserIdentity(ctx context.Context, a Actor, userID string) (mfa.IdentityStatus, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return mfa.IdentityStatus{}, err
	}
	st, err := s.store.UserIdentity(ctx, userID)
	if err != nil {
		return mfa.IdentityStatus{}, fmt.Errorf("user identity: %w", err)
	}
	return st, nil
}

// SetUserPIN sets the user's self-service PIN (CheckPIN), or clears it
// when pin is empty, logged without the PIN.
func (s *Service) SetUserPIN(ctx context.Context, a Actor, userID, pin string) error {
	if err := s.authorize(ctx, a, UpdateUsers); err != nil {
		return err
	}
	return s.setPIN(ctx, a, userID, pin, nil)
}

func (s *Service) setPIN(ctx context.Context, a Actor, userID, pin string, details map[string]any) error {
	action := "user_pin_clear"
	if pin != "" {
		if err := CheckPIN(pin); err != nil {
			return err
		}
		action = "user_pin_set"
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.SetUserIdentity(ctx, userID, mfa.IdentityPIN, mfa.Passcode(pin), s.now()); err != nil {
			return fmt.Errorf("set pin: %w", err)
		}
		return s.logChange(ctx, a, action, "user", userID, changeDetails(details))
	})
}

// SetUserDOBID sets the user's date of birth and last four ID digits
// (DOBIDAnswer), or clears them when both are empty, logged without
// them.
func (s *Service) SetUserDOBID(ctx context.Context, a Actor, userID, dob, last4 string) error {
	if err := s.authorize(ctx, a, UpdateUsers); err != nil {
		return err
	}
	var answer mfa.Passcode
	action := "user_dob_id_clear"
	if strings.TrimSpace(dob) != "" || strings.TrimSpace(last4) != "" {
		var err error
		if answer, err = DOBIDAnswer(dob, last4, s.now()); err != nil {
			return err
		}
		action = "user_dob_id_set"
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.SetUserIdentity(ctx, userID, mfa.IdentityDOBID, answer, s.now()); err != nil {
			return fmt.Errorf("set date of birth and ID digits: %w", err)
		}
		return s.logChange(ctx, a, action, "user", userID, changeDetails(nil))
	})
}

// IdentityImportRow is the outcome of one CSV row.
type IdentityImportRow struct {
	Line     int    // line number in the file (1 = the first line)
	Username string // as given
	OK       bool
	Message  string // what was done, or what was wrong
}

// IdentityImportReport is the outcome of an import: one row per data row.
type IdentityImportReport struct {
	Rows     []IdentityImportRow
	Imported int
	Failed   int
}

// ImportIdentity reads CSV rows username,dob,id_last4 (an optional header
// row naming those columns; at most MaxIdentityImportRows rows and
// MaxIdentityImportBytes) and sets each named user's date of birth and ID
// digits, each row on its own with its own admin log record: a bad row is
// reported and the others still apply. A file that cannot be read as CSV
// at all, or is too big, is Invalid and changes nothing.
func (s *Service) ImportIdentity(ctx context.Context, a Actor, r io.Reader) (IdentityImportReport, error) {
	var rep IdentityImportReport
	if err := s.authorize(ctx, a, UpdateUsers); err != nil {
		return rep, err
	}
	raw, err := io.ReadAll(io.LimitReader(r, MaxIdentityImportBytes+1))
	if err != nil {
		return rep, fmt.Errorf("import identity: %w", err)
	}
	if len(raw) > MaxIdentityImportBytes {
		return rep, mfa.InvalidField("csv", fmt.Sprintf("the file is larger than %d bytes; split it", MaxIdentityImportBytes))
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff")))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	type row struct {
		line int
		rec  []string
	}
	var rows []row
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rep, mfa.InvalidField("csv", "the file is not valid CSV: "+err.Error())
		}
		line, _ := cr.FieldPos(0)
		if first && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "username") {
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rows) == MaxIdentityImportRows {
			return rep, mfa.InvalidField("csv", fmt.Sprintf("at most %d rows at a time; split the file", MaxIdentityImportRows))
		}
		rows = append(rows, row{line: line, rec: rec})
	}
	if len(rows) == 0 {
		return rep, mfa.InvalidField("csv", "the file has no rows; give lines of username,dob,id_last4")
	}
	for _, rw := range rows {
		out := IdentityImportRow{Line: rw.line}
		if len(rw.rec) > 0 {
			out.Username = strings.TrimSpace(rw.rec[0])
		}
		err := s.importIdentityRow(ctx, a, rw.rec)
		var me *mfa.Error
		switch {
		case err == nil:
			out.OK, out.Message = true, "date of birth and ID digits set"
			rep.Imported++
		case errors.As(err, &me) && me.Kind != mfa.Internal && me.Msg != "":
			out.Message = me.Msg
			rep.Failed++
		default:
			return rep, err
		}
		rep.Rows = append(rep.Rows, out)
	}
	return rep, nil
}

func (s *Service) importIdentityRow(ctx context.Context, a Actor, rec []string) error {
	if len(rec) != 3 {
		return mfa.E(mfa.Invalid, fmt.Sprintf("expected 3 columns (username,dob,id_last4), got %d", len(rec)))
	}
	name := strings.TrimSpace(rec[0])
	if name == "" {
		return mfa.E(mfa.Invalid, "the username is empty")
	}
	answer, err := DOBIDAnswer(rec[1], rec[2], s.now())
	if err != nil {
		return err
	}
	u, err := s.store.GetUserByName(ctx, name)
	if errors.Is(err, mfa.ErrNotFound) {
		return mfa.E(mfa.NotFound, "no such user")
	}
	if err != nil {
		return fmt.Errorf("import identity: %w", err)
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.SetUserIdentity(ctx, u.ID, mfa.IdentityDOBID, answer, s.now()); err != nil {
			return fmt.Errorf("import identity: %w", err)
		}
		return s.logChange(ctx, a, "user_dob_id_set", "user", u.ID, changeDetails(map[string]any{"import": true}))
	})
}
