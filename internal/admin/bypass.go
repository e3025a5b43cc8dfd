package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// Bypass code rules (DUO-WIRE.md 3.5, seed 004): at most 10 codes per
// request, at most 100 active per user, 9 digits, reuse_count 0 =
// unlimited, valid_secs 0 = never expires. Once created, a code's uses and
// expiry never change except by being used.
const (
	DefaultBypassCount    = mfa.MaxBypassCodesPerReq
	DefaultBypassReuse    = 1
	MaxBypassReuse        = 10000
	MaxBypassValidSecs    = 10 * 365 * 24 * 60 * 60 // ten years
	bypassCreateRetries   = 3                       // random codes colliding with a held one
	bypassLimitField      = "count"
	bypassCodesField      = "codes"
	bypassReuseCountField = "reuse_count"
	bypassValidSecsField  = "valid_secs"
)

// BypassRequest asks for bypass codes for one user. Nil fields take Duo's
// defaults: count 10 (unless Codes is given), reuse_count 1, valid_secs 0.
type BypassRequest struct {
	Count            *int
	Codes            *string // CSV of caller-chosen codes; excludes Count
	ReuseCount       *int
	ValidSecs        *int64
	PreserveExisting bool
}

// BypassInfo is a bypass code's metadata with its user. It never holds the
// code itself.
type BypassInfo struct {
	Code mfa.BypassCode
	User mfa.User
}

// parseBypassCodes validates a CSV of caller-chosen codes.
func parseBypassCodes(csv string) ([]string, error) {
	if strings.TrimSpace(csv) == "" {
		return nil, mfa.InvalidField(bypassCodesField, "empty; give a comma-separated list of 9-digit codes")
	}
	parts := strings.Split(csv, ",")
	if len(parts) > mfa.MaxBypassCodesPerReq {
		return nil, mfa.InvalidField(bypassCodesField,
			fmt.Sprintf("at most %d codes can be created at a time, got %d", mfa.MaxBypassCodesPerReq, len(parts)))
	}
	seen := make(map[string]bool, len(parts))
	codes := make([]string, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if len(p) != mfa.BypassCodeDigits || strings.Trim(p, "0123456789") != "" {
			return nil, mfa.InvalidField(bypassCodesField,
				fmt.Sprintf("code %d of %d is not exactly %d digits", i+1, len(parts), mfa.BypassCodeDigits))
		}
		if seen[p] {
			return nil, mfa.InvalidField(bypassCodesField, fmt.Sprintf("code %d repeats an earlier code", i+1))
		}
		seen[p] = true
		codes = append(codes, p)
	}
	return codes, nil
}

// bypassPlan is a validated BypassRequest.
type bypassPlan struct {
	count     int      // random codes to make, when chosen is nil
	chosen    []string // caller-chosen codes
	unlimited bool
	uses      int
	validFor  time.Duration
	field     string // the parameter that sets how many codes: count or codes
}

func planBypass(req BypassRequest) (bypassPlan, error) {
	p := bypassPlan{count: DefaultBypassCount, uses: DefaultBypassReuse, field: bypassLimitField}
	if req.Count != nil && req.Codes != nil {
		return p, mfa.InvalidField(bypassLimitField, "give either count or codes, not both")
	}
	if req.Count != nil {
		if *req.Count < 1 || *req.Count > mfa.MaxBypassCodesPerReq {
			return p, mfa.InvalidField(bypassLimitField, fmt.Sprintf("must be between 1 and %d", mfa.MaxBypassCodesPerReq))
		}
		p.count = *req.Count
	}
	if req.Codes != nil {
		codes, err := parseBypassCodes(*req.Codes)
		if err != nil {
			return p, err
		}
		p.chosen, p.count, p.field = codes, len(codes), bypassCodesField
	}
	if req.ReuseCount != nil {
		n := *req.ReuseCount
		if n < 0 || n > MaxBypassReuse {
			return p, mfa.InvalidField(bypassReuseCountField, fmt.Sprintf("must be between 0 (unlimited) and %d", MaxBypassReuse))
		}
		p.uses, p.unlimited = n, n == 0
	}
	if req.ValidSecs != nil {
		v := *req.ValidSecs
		if v < 0 || v > MaxBypassValidSecs {
			return p, mfa.InvalidField(bypassValidSecsField, fmt.Sprintf("must be between 0 (never expires) and %d (ten years)", MaxBypassValidSecs))
		}
		p.validFor = time.Duration(v) * time.Second
	}
	return p, nil
}

// CreateBypassCodes makes bypass codes for a user and returns them: the
// only time the codes are ever shown. Unless PreserveExisting, they
// replace the user's existing codes. The store enforces the limit of
// mfa.MaxActiveBypassCodes active codes atomically: a request that would
// exceed it creates nothing.
func (s *Service) CreateBypassCodes(ctx context.Context, a Actor, userID string, req BypassRequest) ([]string, error) {
	if err := s.authorize(ctx, a, CreateBypassCodes); err != nil {
		return nil, err
	}
	return s.issueBypassCodes(ctx, a, userID, req, nil)
}

// issueBypassCodes is CreateBypassCodes after authorization; extra details
// go into the admin log record (self-service adds the source address).
func (s *Service) issueBypassCodes(ctx context.Context, a Actor, userID string, req BypassRequest, extra map[string]any) ([]string, error) {
	p, err := planBypass(req)
	if err != nil {
		return nil, err
	}
	var codes []string
	// One transaction: the codes and their log record. A failed attempt
	// (the store's own savepoint) leaves nothing behind.
	err = s.store.Atomic(ctx, func(ctx context.Context) error {
		for attempt := 0; ; attempt++ {
			codes, err = s.createBypassCodes(ctx, a, userID, req.PreserveExisting, p)
			if err == nil {
				break
			}
			// A random code equal to one the user already holds (one chance in
			// ten million per held code): draw again.
			if errors.Is(err, mfa.ErrConflict) && p.chosen == nil && attempt < bypassCreateRetries {
				continue
			}
			return err
		}
		details := map[string]any{"count": len(codes), "reuse_count": p.uses, "valid_secs": int64(p.validFor / time.Second),
			"preserve_existing": req.PreserveExisting, "caller_chosen": p.chosen != nil}
		for k, v := range extra {
			details[k] = v
		}
		return s.logChange(ctx, a, "bypass_create", "user", userID, changeDetails(details))
	})
	if err != nil {
		return nil, err
	}
	if a.Kind == ActorSelfService {
		s.notifyUser(ctx, userID, SubjectBypassAdded, "A bypass code was created for your account at the self-service page, "+
			"after your password and identity check. It lets whoever holds it log in as you without your phone. "+
			"If this was not you, tell your help desk now.")
	} else {
		s.notifyUser(ctx, userID, SubjectBypassAdded, fmt.Sprintf("%d bypass code(s) were created for your account by an administrator. "+
			"Each one lets whoever holds it log in as you without your phone.", len(codes)))
	}
	return codes, nil
}

func (s *Service) createBypassCodes(ctx context.Context, a Actor, userID string, preserve bool, p bypassPlan) ([]string, error) {
	now := s.now()
	codes := p.chosen
	if codes == nil {
		seen := make(map[string]bool, p.count)
		for len(codes) < p.count {
			c, err := mfa.RandomDigits(s.rand, mfa.BypassCodeDigits)
			if err != nil {
				return nil, fmt.Errorf("create bypass codes: %w", err)
			}
			if !seen[c] {
				seen[c] = true
				codes = append(codes, c)
			}
		}
	}
	req := mfa.NewBypassCodes{UserID: userID, PreserveExisting: preserve, MaxActive: mfa.MaxActiveBypassCodes}
	for _, c := range codes {
		id, err := mfa.NewID(mfa.PrefixBypassCode, s.rand)
		if err != nil {
			return nil, fmt.Errorf("create bypass codes: %w", err)
		}
		b := mfa.BypassCode{ID: id, UserID: userID, Code: mfa.Passcode(c), UsesLeft: p.uses, Unlimited: p.unlimited,
			CreatedBy: a.Name, Created: now}
		if p.validFor > 0 {
			b.Expires = now.Add(p.validFor)
		}
		req.Codes = append(req.Codes, b)
	}
	err := s.store.CreateBypassCodes(ctx, req, now)
	switch {
	case err == nil:
		return codes, nil
	case errors.Is(err, mfa.ErrInvalid):
		var me *mfa.Error
		if errors.As(err, &me) && me.Field == bypassLimitField {
			return nil, s.bypassLimitError(ctx, userID, preserve, len(codes), p.field, now)
		}
	case errors.Is(err, mfa.ErrConflict) && p.chosen != nil:
		return nil, mfa.InvalidField(bypassCodesField, "the user already holds one of these codes")
	}
	return nil, fmt.Errorf("create bypass codes: %w", err)
}

// bypassLimitError explains a refusal for exceeding the active-code limit.
// The count is informational (the store already refused atomically).
func (s *Service) bypassLimitError(ctx context.Context, userID string, preserve bool, adding int, field string, now time.Time) error {
	msg := fmt.Sprintf("a user can have at most %d active bypass codes", mfa.MaxActiveBypassCodes)
	if preserve {
		held, _, err := s.store.ListBypassCodes(ctx, mfa.BypassFilter{UserID: userID})
		if err == nil {
			active := 0
			for _, b := range held {
				if !b.Spent(now) {
					active++
				}
			}
			if active+adding > mfa.MaxActiveBypassCodes {
				msg += fmt.Sprintf("; the user has %d and this request would make %d", active, active+adding)
			}
		}
	}
	return mfa.InvalidField(field, msg+"; nothing was created")
}

// GetBypassCode returns a code's metadata. A spent or expired code is
// deleted on the way and is NotFound.
func (s *Service) GetBypassCode(ctx context.Context, a Actor, id string) (BypassInfo, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return BypassInfo{}, err
	}
	b, err := s.store.GetBypassCode(ctx, id)
	if err != nil {
		return BypassInfo{}, fmt.Errorf("get bypass code: %w", err)
	}
	if b.Spent(s.now()) {
		if err := s.store.DeleteBypassCode(ctx, id); err != nil && !errors.Is(err, mfa.ErrNotFound) {
			return BypassInfo{}, fmt.Errorf("get bypass code: %w", err)
		}
		return BypassInfo{}, mfa.NotFoundf("bypass code not found")
	}
	u, err := s.store.GetUser(ctx, b.UserID)
	if err != nil {
		return BypassInfo{}, fmt.Errorf("get bypass code: %w", err)
	}
	b.Code = ""
	return BypassInfo{Code: b, User: u}, nil
}

// ListBypassCodes lists usable codes, of one user (NotFound if the user
// does not exist) or of everyone when userID is empty. Spent and expired
// codes are never listed, even before the reaper has run: the list first
// deletes them (one statement, usually deleting nothing), so that pages and
// totals count only usable codes, and filters out any that expire
// meanwhile.
func (s *Service) ListBypassCodes(ctx context.Context, a Actor, userID string, page mfa.Page) ([]BypassInfo, int, error) {
	if err := s.authorize(ctx, a, ReadResources); err != nil {
		return nil, 0, err
	}
	users := map[string]mfa.User{}
	if userID != "" {
		u, err := s.store.GetUser(ctx, userID)
		if err != nil {
			return nil, 0, fmt.Errorf("list bypass codes: %w", err)
		}
		users[u.ID] = u
	}
	if _, err := s.store.DeleteSpentBypassCodes(ctx, s.now()); err != nil {
		return nil, 0, fmt.Errorf("list bypass codes: %w", err)
	}
	codes, total, err := s.store.ListBypassCodes(ctx, mfa.BypassFilter{UserID: userID, Page: page})
	if err != nil {
		return nil, 0, fmt.Errorf("list bypass codes: %w", err)
	}
	now := s.now()
	out := make([]BypassInfo, 0, len(codes))
	for _, b := range codes {
		if b.Spent(now) {
			total--
			continue
		}
		u, ok := users[b.UserID]
		if !ok {
			var err error
			if u, err = s.store.GetUser(ctx, b.UserID); err != nil {
				return nil, 0, fmt.Errorf("list bypass codes: %w", err)
			}
			users[b.UserID] = u
		}
		b.Code = ""
		out = append(out, BypassInfo{Code: b, User: u})
	}
	return out, total, nil
}

// DeleteBypassCode deletes one code.
func (s *Service) DeleteBypassCode(ctx context.Context, a Actor, id string) error {
	if err := s.authorize(ctx, a, DeleteBypassCodes); err != nil {
		return err
	}
	return s.store.Atomic(ctx, func(ctx context.Context) error {
		b, err := s.store.GetBypassCode(ctx, id)
		if err != nil {
			return fmt.Errorf("delete bypass code: %w", err)
		}
		if err := s.store.DeleteBypassCode(ctx, id); err != nil {
			return fmt.Errorf("delete bypass code: %w", err)
		}
		return s.logChange(ctx, a, "bypass_delete", "user", b.UserID, changeDetails(map[string]any{"bypass_code_id": id}))
	})
}

// ReapBypassCodes deletes used-up and expired bypass codes (twostepd runs
// it periodically) and returns how many.
func (s *Service) ReapBypassCodes(ctx context.Context) (int, error) {
	a := SystemActor()
	if err := s.authorize(ctx, a, DeleteBypassCodes); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteSpentBypassCodes(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("reap bypass codes: %w", err)
	}
	return n, nil
}
