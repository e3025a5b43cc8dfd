package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// PhoneFields are the phone attributes a create or modify request sets; a
// nil field is not provided.
type PhoneFields struct {
	Number    *string
	Name      *string
	Extension *string
	Type      *string // any case: "mobile" or Duo's display "Mobile"
	Platform  *string // any case: "apple ios" or "Apple iOS"
	// PreDelay and PostDelay are Duo's predelay/postdelay: whole seconds,
	// 0 to MaxExtensionDelay; "" clears (the carrier's default applies).
	PreDelay  *string
	PostDelay *string
}

// MaxExtensionDelay bounds a phone's predelay and postdelay.
const MaxExtensionDelay = 60 * time.Second

// PhoneDetail is a phone with the users it belongs to.
type PhoneDetail struct {
	mfa.Phone
	Users []mfa.User
}

// Platforms are Duo's phone platforms, lower case as stored.
var Platforms = []string{"unknown", "google android", "apple ios", "windows phone 7", "rim blackberry",
	"java j2me", "palm webos", "symbian os", "windows mobile", "generic smartphone"}

// ListPhones lists phones matching f (number and extension filters are
// normalised as on create) with their users, and the total matching.
func (s *Service) ListPhones(ctx context.Context, a Actor, f mfa.PhoneFilter) ([]PhoneDetail, int, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, 0, err
	}
	if f.Number != "" {
		n, err := NormalizeNumber("number", f.Number)
		if err != nil {
			return nil, 0, err
		}
		f.Number = n
	}
	phones, total, err := s.store.ListPhones(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list phones: %w", err)
	}
	out := make([]PhoneDetail, 0, len(phones))
	for _, p := range phones {
		users, err := s.store.PhoneUsers(ctx, p.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("list phones: %w", err)
		}
		out = append(out, PhoneDetail{Phone: p, Users: users})
	}
	return out, total, nil
}

// GetPhone returns one phone with its users.
func (s *Service) GetPhone(ctx context.Context, a Actor, id string) (PhoneDetail, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return PhoneDetail{}, err
	}
	return s.phoneDetail(ctx, id)
}

func (s *Service) phoneDetail(ctx context.Context, id string) (PhoneDetail, error) {
	p, err := s.store.GetPhone(ctx, id)
	if err != nil {
		return PhoneDetail{}, fmt.Errorf("get phone: %w", err)
	}
	users, err := s.store.PhoneUsers(ctx, id)
	if err != nil {
		return PhoneDetail{}, fmt.Errorf("get phone: %w", err)
	}
	return PhoneDetail{Phone: p, Users: users}, nil
}

// CreatePhone creates a phone. Type defaults to unknown and platform to
// unknown.
func (s *Service) CreatePhone(ctx context.Context, a Actor, f PhoneFields) (PhoneDetail, error) {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return PhoneDetail{}, err
	}
	p := mfa.Phone{Type: mfa.PhoneUnknown, Platform: "unknown", Created: s.now()}
	if err := applyPhoneFields(&p, f); err != nil {
		return PhoneDetail{}, err
	}
	id, err := mfa.NewID(mfa.PrefixPhone, s.rand)
	if err != nil {
		return PhoneDetail{}, fmt.Errorf("create phone: %w", err)
	}
	p.ID = id
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if err := s.store.CreatePhone(ctx, p); err != nil {
			return fmt.Errorf("create phone: %w", err)
		}
		return s.logChange(ctx, a, "phone_create", "phone", p.ID, describe(phoneLog(p)))
	})
	if err != nil {
		return PhoneDetail{}, err
	}
	return PhoneDetail{Phone: p, Users: []mfa.User{}}, nil
}

// UpdatePhone changes the provided fields of a phone.
func (s *Service) UpdatePhone(ctx context.Context, a Actor, id string, f PhoneFields) (PhoneDetail, error) {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return PhoneDetail{}, err
	}
	err := s.store.Atomic(ctx, func(ctx context.Context) error {
		p, err := s.store.GetPhone(ctx, id)
		if err != nil {
			return fmt.Errorf("update phone: %w", err)
		}
		if err := applyPhoneFields(&p, f); err != nil {
			return err
		}
		if err := s.store.UpdatePhone(ctx, p); err != nil {
			return fmt.Errorf("update phone: %w", err)
		}
		return s.logChange(ctx, a, "phone_update", "phone", p.ID, describe(phoneLog(p)))
	})
	if err != nil {
		return PhoneDetail{}, err
	}
	return s.phoneDetail(ctx, id)
}

// DeletePhone deletes a phone with its authenticators and associations.
// An unknown id is NotFound.
func (s *Service) DeletePhone(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, DeleteDevices); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		p, err := s.store.GetPhone(ctx, id)
		if err != nil {
			return fmt.Errorf("delete phone: %w", err)
		}
		if err := s.store.DeletePhone(ctx, id); err != nil {
			return fmt.Errorf("delete phone: %w", err)
		}
		return s.logChange(ctx, a, "phone_delete", "phone", id, describe(phoneLog(p)))
	})
}

func phoneLog(p mfa.Phone) map[string]any {
	m := map[string]any{"number": p.Number, "extension": p.Extension, "name": p.Name, "type": p.Type, "platform": p.Platform}
	if p.PreDelay != nil {
		m["predelay"] = int(*p.PreDelay / time.Second)
	}
	if p.PostDelay != nil {
		m["postdelay"] = int(*p.PostDelay / time.Second)
	}
	return m
}

// parseDelay reads an extension delay in whole seconds; "" is unset.
func parseDelay(name, s string) (*time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	max := int(MaxExtensionDelay / time.Second)
	if err != nil || n < 0 || n > max || strings.Trim(s, "0123456789") != "" {
		return nil, mfa.InvalidField(name, fmt.Sprintf("must be whole seconds, 0 to %d", max))
	}
	d := time.Duration(n) * time.Second
	return &d, nil
}

func applyPhoneFields(p *mfa.Phone, f PhoneFields) error {
	if f.Number != nil {
		n := ""
		if strings.TrimSpace(*f.Number) != "" {
			var err error
			if n, err = NormalizeNumber("number", *f.Number); err != nil {
				return err
			}
		}
		p.Number = n
	}
	if f.Extension != nil {
		e := strings.TrimSpace(*f.Extension)
		if len(e) > 10 || strings.Trim(e, "0123456789") != "" {
			return mfa.InvalidField("extension", "must be at most 10 digits")
		}
		p.Extension = e
	}
	for _, d := range []struct {
		name string
		give *string
		dst  **time.Duration
	}{{"predelay", f.PreDelay, &p.PreDelay}, {"postdelay", f.PostDelay, &p.PostDelay}} {
		if d.give == nil {
			continue
		}
		v, err := parseDelay(d.name, *d.give)
		if err != nil {
			return err
		}
		*d.dst = v
	}
	if f.Name != nil {
		v, err := checkText("name", *f.Name, maxTextLen, false)
		if err != nil {
			return err
		}
		p.Name = v
	}
	if f.Type != nil {
		t := mfa.PhoneType(strings.ToLower(strings.TrimSpace(*f.Type)))
		if t == "" {
			t = mfa.PhoneUnknown
		}
		if !t.Valid() {
			return mfa.InvalidField("type", "must be mobile, landline, tablet or unknown")
		}
		p.Type = t
	}
	if f.Platform != nil {
		pl := strings.Join(strings.Fields(strings.ToLower(*f.Platform)), " ")
		if pl == "" {
			pl = "unknown"
		}
		ok := false
		for _, known := range Platforms {
			ok = ok || known == pl
		}
		if !ok {
			return mfa.InvalidField("platform", "must be one of: "+strings.Join(Platforms, ", "))
		}
		p.Platform = pl
	}
	return nil
}

// NormalizeNumber turns a phone number into E.164: "+" and 8-15 digits.
// Spaces, dashes, dots and parentheses are removed; the "+" is required
// (twostep does not guess a country).
func NormalizeNumber(field, v string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(v) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", mfa.InvalidField(field, "must be an E.164 number such as +15555550100")
		}
	}
	n := b.String()
	digits := strings.TrimPrefix(n, "+")
	if !strings.HasPrefix(n, "+") || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", mfa.InvalidField(field, "must be an E.164 number: + and 8 to 15 digits")
	}
	return n, nil
}

// CreateUserPhone creates a phone and associates it with a user in one
// transaction (the console's "Add a phone"): if either step fails there
// is no phone, so no orphan is left behind, and both changes are in the
// administrator log. An unknown user is NotFound. It needs WriteDevices,
// as CreatePhone and AttachPhone do.
func (s *Service) CreateUserPhone(ctx context.Context, a Actor, userID string, f PhoneFields) (PhoneDetail, error) {
	if err := s.authorize(ctx, a, WriteDevices); err != nil {
		return PhoneDetail{}, err
	}
	p := mfa.Phone{Type: mfa.PhoneUnknown, Platform: "unknown", Created: s.now()}
	if err := applyPhoneFields(&p, f); err != nil {
		return PhoneDetail{}, err
	}
	id, err := mfa.NewID(mfa.PrefixPhone, s.rand)
	if err != nil {
		return PhoneDetail{}, fmt.Errorf("create phone: %w", err)
	}
	p.ID = id
	var u mfa.User
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		if u, err = s.store.GetUser(ctx, userID); err != nil {
			return fmt.Errorf("create phone: %w", err)
		}
		if err := s.store.CreatePhone(ctx, p); err != nil {
			return fmt.Errorf("create phone: %w", err)
		}
		if err := s.logChange(ctx, a, "phone_create", "phone", p.ID, describe(phoneLog(p))); err != nil {
			return err
		}
		if err := s.store.AttachPhone(ctx, u.ID, p.ID); err != nil {
			return fmt.Errorf("associate phone: %w", err)
		}
		return s.logChange(ctx, a, "user_phone_associate", "user", u.ID, describe(map[string]any{"phone_id": p.ID}))
	})
	if err != nil {
		return PhoneDetail{}, err
	}
	what := "A phone was added to your account"
	if p.Number != "" {
		what = "The phone ending in " + lastDigits(p.Number) + " was added to your account"
	}
	s.notifyUser(ctx, u.ID, SubjectPhoneAdded, what+" by an administrator. It can now be used for the second step of your logins.")
	return PhoneDetail{Phone: p, Users: []mfa.User{u}}, nil
}
