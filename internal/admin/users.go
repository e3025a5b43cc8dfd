package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// UserFields are the user attributes a create or modify request sets; a
// nil field is not provided and stays as it is (or empty on create).
type UserFields struct {
	Username  *string
	RealName  *string
	FirstName *string
	LastName  *string
	Email     *string
	Status    *string
	Notes     *string
	// Aliases sets alias slots 1..mfa.MaxAliases by number; an empty value
	// clears the slot. With ReplaceAliases every slot not named is cleared
	// too (Duo's "aliases" parameter replaces the whole set).
	Aliases        map[int]string
	ReplaceAliases bool
}

// UserDetail is a user with the devices a Duo user object lists.
type UserDetail struct {
	mfa.User
	Phones []mfa.Phone
	Tokens []mfa.Token
	Groups []mfa.Group
	// WebAuthn are the user's security keys and passkeys.
	WebAuthn []mfa.WebAuthnCredential
}

// Field limits.
const (
	maxNameLen  = 100  // usernames and aliases
	maxTextLen  = 255  // names, emails, greetings
	maxNotesLen = 2000 // notes
)

// ListUsers lists users matching f with their phones and tokens, and the
// total number matching.
func (s *Service) ListUsers(ctx context.Context, a Actor, f mfa.UserFilter) ([]UserDetail, int, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, 0, err
	}
	users, total, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	out := make([]UserDetail, 0, len(users))
	for _, u := range users {
		d, err := s.userDetail(ctx, u)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, d)
	}
	return out, total, nil
}

// GetUser returns one user with their phones and tokens.
func (s *Service) GetUser(ctx context.Context, a Actor, id string) (UserDetail, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return UserDetail{}, err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return UserDetail{}, fmt.Errorf("get user: %w", err)
	}
	return s.userDetail(ctx, u)
}

func (s *Service) userDetail(ctx context.Context, u mfa.User) (UserDetail, error) {
	phones, err := s.store.UserPhones(ctx, u.ID)
	if err != nil {
		return UserDetail{}, fmt.Errorf("user phones: %w", err)
	}
	tokens, err := s.store.UserTokens(ctx, u.ID)
	if err != nil {
		return UserDetail{}, fmt.Errorf("user tokens: %w", err)
	}
	groups, err := s.store.UserGroups(ctx, u.ID)
	if err != nil {
		return UserDetail{}, fmt.Errorf("user groups: %w", err)
	}
	keys, err := s.store.UserWebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return UserDetail{}, fmt.Errorf("user security keys: %w", err)
	}
	return UserDetail{User: u, Phones: phones, Tokens: tokens, Groups: groups, WebAuthn: keys}, nil
}

// CreateUser creates a user. Username is required; status defaults to
// active and may be active, bypass or disabled ("locked out" is the
// system's to set).
func (s *Service) CreateUser(ctx context.Context, a Actor, f UserFields) (UserDetail, error) {
	if err := s.authorize(ctx, a, CreateUsers); err != nil {
		return UserDetail{}, err
	}
	if f.Username == nil {
		return UserDetail{}, mfa.InvalidField("username", "required")
	}
	u := mfa.User{Status: mfa.StatusActive, Created: s.now()}
	if err := applyUserFields(&u, f, false); err != nil {
		return UserDetail{}, err
	}
	id, err := mfa.NewID(mfa.PrefixUser, s.rand)
	if err != nil {
		return UserDetail{}, fmt.Errorf("create user: %w", err)
	}
	u.ID = id
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return s.logChange(ctx, a, "user_create", "user", u.ID, describe(userLog(u)))
	})
	if err != nil {
		return UserDetail{}, err
	}
	return UserDetail{User: u, Phones: []mfa.Phone{}, Tokens: []mfa.Token{}}, nil
}

// UpdateUser changes the provided fields of a user. Setting a locked-out
// user active unlocks them and clears their failure count.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id string, f UserFields) (UserDetail, error) {
	if err := s.authorize(ctx, a, UpdateUsers); err != nil {
		return UserDetail{}, err
	}
	// The read, the profile write, the unlock and the log record are one
	// transaction: all or nothing.
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		u, err := s.store.GetUser(ctx, id)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		wasLocked := u.Status == mfa.StatusLockedOut
		if err := applyUserFields(&u, f, wasLocked); err != nil {
			return err
		}
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if wasLocked && u.Status != mfa.StatusLockedOut {
			if err := s.store.ResetAuthFailures(ctx, u.ID); err != nil {
				return fmt.Errorf("update user: unlock: %w", err)
			}
		}
		desc := userLog(u)
		desc["changed"] = changedUserFields(f)
		return s.logChange(ctx, a, "user_update", "user", u.ID, describe(desc))
	})
	if err != nil {
		return UserDetail{}, err
	}
	return s.GetUser(ctx, SystemActor(), id)
}

// DeleteUser deletes a user with their bypass codes and device
// associations. An unknown id is NotFound.
func (s *Service) DeleteUser(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, DeleteUsers); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		u, err := s.store.GetUser(ctx, id)
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if err := s.store.DeleteUser(ctx, id); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return s.logChange(ctx, a, "user_delete", "user", id, describe(map[string]any{"username": u.Username}))
	})
}

// UserPhones lists a user's phones.
func (s *Service) UserPhones(ctx context.Context, a Actor, userID string) ([]mfa.Phone, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, err
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return nil, fmt.Errorf("user phones: %w", err)
	}
	phones, err := s.store.UserPhones(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("user phones: %w", err)
	}
	return phones, nil
}

// AttachPhone associates a phone with a user; associating twice is not an
// error.
func (s *Service) AttachPhone(ctx context.Context, a Actor, userID, phoneID string) error {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return err
	}
	if strings.TrimSpace(phoneID) == "" {
		return mfa.InvalidField("phone_id", "required")
	}
	if _, err := s.store.GetUser(ctx, userID); err != nil {
		return fmt.Errorf("associate phone: %w", err)
	}
	p, err := s.store.GetPhone(ctx, phoneID)
	if err != nil {
		if errors.Is(err, mfa.ErrNotFound) {
			// The user exists; the parameter is what is wrong.
			return mfa.InvalidField("phone_id", "no such phone")
		}
		return fmt.Errorf("associate phone: %w", err)
	}
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.AttachPhone(ctx, userID, phoneID); err != nil {
			return fmt.Errorf("associate phone: %w", err)
		}
		return s.logChange(ctx, a, "user_phone_associate", "user", userID, describe(map[string]any{"phone_id": phoneID}))
	})
	if err != nil {
		return err
	}
	what := "A phone was added to your account"
	if p.Number != "" {
		what = "The phone ending in " + lastDigits(p.Number) + " was added to your account"
	}
	s.notifyUser(ctx, userID, SubjectPhoneAdded, what+" by an administrator. It can now be used for the second step of your logins.")
	return nil
}

// DetachPhone removes a phone's association with a user; NotFound when
// there is none.
func (s *Service) DetachPhone(ctx context.Context, a Actor, userID, phoneID string) error {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.DetachPhone(ctx, userID, phoneID); err != nil {
			return fmt.Errorf("disassociate phone: %w", err)
		}
		return s.logChange(ctx, a, "user_phone_disassociate", "user", userID, describe(map[string]any{"phone_id": phoneID}))
	})
}

// applyUserFields validates f and applies it to u; on error u may be
// partly changed, but nothing has been written.
func applyUserFields(u *mfa.User, f UserFields, allowLocked bool) error {
	if f.Username != nil {
		name, err := checkName("username", *f.Username)
		if err != nil {
			return err
		}
		u.Username = name
	}
	texts := []struct {
		field string
		v     *string
		dst   *string
		max   int
	}{
		{"realname", f.RealName, &u.RealName, maxTextLen},
		{"firstname", f.FirstName, &u.FirstName, maxTextLen},
		{"lastname", f.LastName, &u.LastName, maxTextLen},
		{"notes", f.Notes, &u.Notes, maxNotesLen},
	}
	for _, t := range texts {
		if t.v == nil {
			continue
		}
		v, err := checkText(t.field, *t.v, t.max, t.field == "notes")
		if err != nil {
			return err
		}
		*t.dst = v
	}
	if f.Email != nil {
		e, err := checkEmail("email", *f.Email, true)
		if err != nil {
			return err
		}
		u.Email = e
	}
	if f.Status != nil {
		st := mfa.UserStatus(strings.ToLower(strings.TrimSpace(*f.Status)))
		switch {
		case st == mfa.StatusLockedOut && allowLocked:
			// Unchanged: a client writing back the object it read.
		case st == mfa.StatusLockedOut:
			return mfa.InvalidField("status", `"locked out" is set only by the system`)
		case !st.Valid():
			return mfa.InvalidField("status", "must be active, bypass or disabled")
		}
		u.Status = st
	}
	if f.ReplaceAliases || len(f.Aliases) > 0 {
		slots := make([]string, mfa.MaxAliases)
		if !f.ReplaceAliases {
			copy(slots, u.Aliases)
		}
		for n, v := range f.Aliases {
			field := "alias" + strconv.Itoa(n)
			if n < 1 || n > mfa.MaxAliases {
				return mfa.InvalidField(field, fmt.Sprintf("at most %d aliases (alias1..alias%d)", mfa.MaxAliases, mfa.MaxAliases))
			}
			if strings.TrimSpace(v) == "" {
				slots[n-1] = ""
				continue
			}
			name, err := checkName(field, v)
			if err != nil {
				return err
			}
			slots[n-1] = name
		}
		seen := map[string]int{strings.ToLower(u.Username): 0}
		var aliases []string
		for i, al := range slots {
			if al == "" {
				continue
			}
			field := "alias" + strconv.Itoa(i+1)
			if j, dup := seen[strings.ToLower(al)]; dup {
				if j == 0 {
					return mfa.InvalidField(field, "equals the username")
				}
				return mfa.InvalidField(field, fmt.Sprintf("duplicates alias%d", j))
			}
			seen[strings.ToLower(al)] = i + 1
			aliases = append(aliases, al)
		}
		u.Aliases = aliases
	} else if f.Username != nil {
		for i, al := range u.Aliases {
			if strings.EqualFold(al, u.Username) {
				return mfa.InvalidField("username", fmt.Sprintf("equals alias%d", i+1))
			}
		}
	}
	return nil
}

func changedUserFields(f UserFields) []string {
	var out []string
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"username", f.Username != nil}, {"realname", f.RealName != nil}, {"firstname", f.FirstName != nil},
		{"lastname", f.LastName != nil}, {"email", f.Email != nil}, {"status", f.Status != nil},
		{"notes", f.Notes != nil}, {"aliases", f.ReplaceAliases || len(f.Aliases) > 0},
	} {
		if c.set {
			out = append(out, c.name)
		}
	}
	return out
}

func userLog(u mfa.User) map[string]any {
	return map[string]any{"username": u.Username, "status": u.Status, "email": u.Email, "aliases": u.Aliases}
}

// describe renders an admin log description as JSON. It must never be
// given secrets.
func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// checkName validates a username or alias: trimmed, 1-100 characters,
// no control characters.
func checkName(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch n := utf8.RuneCountInString(v); {
	case !utf8.ValidString(v):
		return "", mfa.InvalidField(field, "not valid UTF-8")
	case n == 0:
		return "", mfa.InvalidField(field, "required")
	case n > maxNameLen:
		return "", mfa.InvalidField(field, fmt.Sprintf("longer than %d characters", maxNameLen))
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", mfa.InvalidField(field, "contains control characters")
	}
	return v, nil
}

// checkText validates free text: trimmed, at most max characters, no
// control characters (but newlines and tabs when multiline).
func checkText(field, v string, max int, multiline bool) (string, error) {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) {
		return "", mfa.InvalidField(field, "not valid UTF-8")
	}
	if utf8.RuneCountInString(v) > max {
		return "", mfa.InvalidField(field, fmt.Sprintf("longer than %d characters", max))
	}
	bad := strings.IndexFunc(v, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t'))
	})
	if bad >= 0 {
		return "", mfa.InvalidField(field, "contains control characters")
	}
	return v, nil
}

// checkEmail validates an email address's basic shape: one "@" with
// something on each side, no spaces or control characters. Empty is
// allowed when optional.
func checkEmail(field, v string, optional bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if optional {
			return "", nil
		}
		return "", mfa.InvalidField(field, "required")
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(v) > maxTextLen ||
		strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || !utf8.ValidString(v) {
		return "", mfa.InvalidField(field, "not an email address")
	}
	return v, nil
}
