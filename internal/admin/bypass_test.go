package admin_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

var nineDigits = regexp.MustCompile(`^[0-9]{9}$`)

// spend uses a bypass code once, as an authentication would.
func (e *devEnv) spend(userID, code string) error {
	_, err := e.store.ApplyAuth(e.t.Context(), mfa.AuthWrite{UserID: userID, Success: true, At: e.clock.Now(),
		Guard: mfa.Guard{Kind: mfa.GuardBypassCode, Code: mfa.Passcode(code), Now: e.clock.Now()}})
	return err
}

// stored returns every stored bypass code of a user, spent or not.
func (e *devEnv) stored(userID string) []mfa.BypassCode {
	e.t.Helper()
	bs, _, err := e.store.ListBypassCodes(e.t.Context(), mfa.BypassFilter{UserID: userID})
	if err != nil {
		e.t.Fatal(err)
	}
	return bs
}

func TestCreateBypassCodesValidation(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	tests := []struct {
		name      string
		give      admin.BypassRequest
		wantN     int    // codes created when valid
		wantField string // Invalid field when not
	}{
		{name: "defaults", give: admin.BypassRequest{}, wantN: 10},
		{name: "count 1", give: admin.BypassRequest{Count: ptr(1)}, wantN: 1},
		{name: "count 10", give: admin.BypassRequest{Count: ptr(10)}, wantN: 10},
		{name: "count 0", give: admin.BypassRequest{Count: ptr(0)}, wantField: "count"},
		{name: "count 11", give: admin.BypassRequest{Count: ptr(11)}, wantField: "count"},
		{name: "count -1", give: admin.BypassRequest{Count: ptr(-1)}, wantField: "count"},
		{name: "codes", give: admin.BypassRequest{Codes: ptr("012345678, 987654321")}, wantN: 2},
		{name: "ten codes", give: admin.BypassRequest{Codes: ptr("000000000,000000001,000000002,000000003,000000004,000000005,000000006,000000007,000000008,000000009")}, wantN: 10},
		{name: "eleven codes", give: admin.BypassRequest{Codes: ptr("000000000,000000001,000000002,000000003,000000004,000000005,000000006,000000007,000000008,000000009,000000010")}, wantField: "codes"},
		{name: "empty codes", give: admin.BypassRequest{Codes: ptr("")}, wantField: "codes"},
		{name: "8-digit code", give: admin.BypassRequest{Codes: ptr("12345678")}, wantField: "codes"},
		{name: "10-digit code", give: admin.BypassRequest{Codes: ptr("1234567890")}, wantField: "codes"},
		{name: "letters", give: admin.BypassRequest{Codes: ptr("12345678a")}, wantField: "codes"},
		{name: "empty item", give: admin.BypassRequest{Codes: ptr("123456789,")}, wantField: "codes"},
		{name: "duplicate codes", give: admin.BypassRequest{Codes: ptr("123456789,123456789")}, wantField: "codes"},
		{name: "count and codes", give: admin.BypassRequest{Count: ptr(1), Codes: ptr("123456789")}, wantField: "count"},
		{name: "reuse_count 0", give: admin.BypassRequest{Count: ptr(1), ReuseCount: ptr(0)}, wantN: 1},
		{name: "reuse_count max", give: admin.BypassRequest{Count: ptr(1), ReuseCount: ptr(admin.MaxBypassReuse)}, wantN: 1},
		{name: "reuse_count -1", give: admin.BypassRequest{ReuseCount: ptr(-1)}, wantField: "reuse_count"},
		{name: "reuse_count too big", give: admin.BypassRequest{ReuseCount: ptr(admin.MaxBypassReuse + 1)}, wantField: "reuse_count"},
		{name: "valid_secs 1", give: admin.BypassRequest{Count: ptr(1), ValidSecs: ptr[int64](1)}, wantN: 1},
		{name: "valid_secs ten years", give: admin.BypassRequest{Count: ptr(1), ValidSecs: ptr[int64](admin.MaxBypassValidSecs)}, wantN: 1},
		{name: "valid_secs -1", give: admin.BypassRequest{ValidSecs: ptr[int64](-1)}, wantField: "valid_secs"},
		{name: "valid_secs over ten years", give: admin.BypassRequest{ValidSecs: ptr[int64](admin.MaxBypassValidSecs + 1)}, wantField: "valid_secs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Seed the user with one known code, to see that a refused
			// request leaves it alone.
			if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Codes: ptr("555555555")}); err != nil {
				t.Fatal(err)
			}
			before := e.stored(u.ID)
			got, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, tt.give)
			if tt.wantField != "" {
				if f := fieldOf(err); f != tt.wantField {
					t.Fatalf("CreateBypassCodes(%s) = %v (field %q), want Invalid naming %s", tt.name, err, f, tt.wantField)
				}
				if after := e.stored(u.ID); len(after) != len(before) || after[0].ID != before[0].ID {
					t.Errorf("CreateBypassCodes(%s) failed but changed the stored codes", tt.name)
				}
				return
			}
			if err != nil || len(got) != tt.wantN {
				t.Fatalf("CreateBypassCodes(%s) = %d codes, %v; want %d", tt.name, len(got), err, tt.wantN)
			}
			seen := map[string]bool{}
			for _, c := range got {
				if !nineDigits.MatchString(c) || seen[c] {
					t.Errorf("code %q is not 9 digits or repeats", c)
				}
				seen[c] = true
			}
			if after := e.stored(u.ID); len(after) != tt.wantN {
				t.Errorf("stored %d codes, want %d (the new codes replace the old)", len(after), tt.wantN)
			}
		})
	}
}

func TestBypassCodeDefaults(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	in := admin.Actor{Kind: admin.ActorIntegration, ID: "DIXXXXXXXXXXXXXXXXXX", Name: "Admin API (prod)",
		Perms: mfa.AdminPermissions{ReadResource: true, WriteResource: true}}
	codes, err := e.svc.CreateBypassCodes(ctx, in, u.ID, admin.BypassRequest{})
	if err != nil {
		t.Fatal(err)
	}
	list, total, err := e.svc.ListBypassCodes(ctx, e.owner, u.ID, mfa.Page{})
	if err != nil || total != 10 || len(list) != 10 {
		t.Fatalf("ListBypassCodes() = %d of %d, %v; want 10", len(list), total, err)
	}
	for _, b := range list {
		c := b.Code
		if c.UsesLeft != 1 || c.Unlimited || !c.Expires.IsZero() || c.CreatedBy != "Admin API (prod)" ||
			!c.Created.Equal(e.clock.Now()) || c.Code != "" || b.User.ID != u.ID {
			t.Errorf("listed code %+v, want 1 use, no expiry, created by the integration's name, no code", c)
		}
	}
	// Leading zeros are kept: over many codes some start with 0.
	zero := false
	for range 20 {
		cs, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			zero = zero || strings.HasPrefix(c, "0")
		}
	}
	if !zero {
		t.Error("no code of 200 starts with 0; want uniform digits with leading zeros kept")
	}
	_ = codes
}

func TestBypassReuseCount(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	for _, n := range []int{1, 2, 5} {
		codes, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(1), ReuseCount: ptr(n)})
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for range n + 3 {
			if e.spend(u.ID, codes[0]) == nil {
				ok++
			}
		}
		if ok != n {
			t.Errorf("reuse_count %d: %d successful uses, want exactly %d", n, ok, n)
		}
		if list, total, _ := e.svc.ListBypassCodes(ctx, e.owner, u.ID, mfa.Page{}); total != 0 || len(list) != 0 {
			t.Errorf("reuse_count %d: a used-up code is still listed (%d)", n, total)
		}
	}
	// Unlimited.
	codes, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(1), ReuseCount: ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := e.spend(u.ID, codes[0]); err != nil {
			t.Fatalf("unlimited code use %d = %v", i+1, err)
		}
	}
	list, _, _ := e.svc.ListBypassCodes(ctx, e.owner, u.ID, mfa.Page{})
	if len(list) != 1 || !list[0].Code.Unlimited {
		t.Errorf("after 50 uses the unlimited code is %+v, want listed and unlimited", list)
	}
	// A code of another user is not this user's.
	bob := e.user("bob")
	if err := e.spend(bob.ID, codes[0]); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("alice's code used by bob = %v, want NotFound", err)
	}
}

func testBypassConcurrentUse(t *testing.T, e *devEnv) {
	ctx := t.Context()
	u := e.user("alice")
	codes, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(1), ReuseCount: ptr(2)})
	if err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			err := e.spend(u.ID, codes[0])
			switch {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, mfa.ErrNotFound) && !errors.Is(err, mfa.ErrConflict):
				t.Errorf("concurrent use = %v, want success, NotFound or Conflict", err)
			}
		})
	}
	wg.Wait()
	if got := ok.Load(); got != 2 {
		t.Errorf("50 concurrent uses of a reuse_count=2 code: %d succeeded, want exactly 2", got)
	}
}

func TestBypassConcurrentUseSQLite(t *testing.T) { testBypassConcurrentUse(t, newDevEnv(t)) }
func TestBypassConcurrentUsePostgres(t *testing.T) {
	testBypassConcurrentUse(t, newDevEnv(t, sqltest.PostgresDSN(t)))
}

func TestBypassExpiry(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	codes, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(2), ReuseCount: ptr(0), ValidSecs: ptr[int64](3600)})
	if err != nil {
		t.Fatal(err)
	}
	list, _, _ := e.svc.ListBypassCodes(ctx, e.owner, u.ID, mfa.Page{})
	if len(list) != 2 || !list[0].Code.Expires.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("listed %+v, want 2 codes expiring in an hour", list)
	}
	id := list[0].Code.ID
	e.clock.Add(time.Hour - time.Second)
	if err := e.spend(u.ID, codes[0]); err != nil {
		t.Errorf("use a second before expiry = %v, want success", err)
	}
	e.clock.Add(time.Second)
	if err := e.spend(u.ID, codes[1]); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("use at expiry = %v, want NotFound", err)
	}
	// Expired codes are never shown, even before the reaper runs, and are
	// deleted on the way.
	if _, err := e.svc.GetBypassCode(ctx, e.owner, id); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("GetBypassCode(expired) = %v, want NotFound", err)
	}
	if list, total, _ := e.svc.ListBypassCodes(ctx, e.owner, u.ID, mfa.Page{}); len(list) != 0 || total != 0 {
		t.Errorf("ListBypassCodes() after expiry = %d of %d, want none", len(list), total)
	}
	if list, total, _ := e.svc.ListBypassCodes(ctx, e.owner, "", mfa.Page{}); len(list) != 0 || total != 0 {
		t.Errorf("ListBypassCodes(all) after expiry = %d of %d, want none", len(list), total)
	}
	if got := e.stored(u.ID); len(got) != 0 {
		t.Errorf("after listing, %d expired codes are still stored, want them deleted", len(got))
	}
}

func TestReapBypassCodes(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(3), ValidSecs: ptr[int64](60)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(2), PreserveExisting: true}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.ReapBypassCodes(ctx); n != 0 || err != nil {
		t.Errorf("ReapBypassCodes() before expiry = %d, %v; want 0", n, err)
	}
	e.clock.Add(time.Minute)
	if n, err := e.svc.ReapBypassCodes(ctx); n != 3 || err != nil {
		t.Errorf("ReapBypassCodes() after expiry = %d, %v; want 3", n, err)
	}
	if got := e.stored(u.ID); len(got) != 2 {
		t.Errorf("stored after reaping = %d, want the 2 unexpired codes", len(got))
	}
}

func TestBypassReplaceAndPreserve(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u, bob := e.user("alice"), e.user("bob")
	old, _ := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(3)})
	bobs, _ := e.svc.CreateBypassCodes(ctx, e.owner, bob.ID, admin.BypassRequest{Count: ptr(1)})
	added, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(2), PreserveExisting: true})
	if err != nil || len(e.stored(u.ID)) != 5 {
		t.Fatalf("preserve_existing: %v, stored %d; want 5", err, len(e.stored(u.ID)))
	}
	// Caller-chosen codes equal to a held one are refused when preserving.
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Codes: ptr(old[0]), PreserveExisting: true}); fieldOf(err) != "codes" {
		t.Errorf("preserve with a held code = %v, want Invalid naming codes", err)
	}
	repl, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(1)})
	if err != nil || len(e.stored(u.ID)) != 1 {
		t.Fatalf("replace: %v, stored %d; want 1", err, len(e.stored(u.ID)))
	}
	for _, c := range append(old, added...) {
		if err := e.spend(u.ID, c); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("replaced code used = %v, want NotFound", err)
		}
	}
	if err := e.spend(u.ID, repl[0]); err != nil {
		t.Errorf("new code used = %v, want success", err)
	}
	if err := e.spend(bob.ID, bobs[0]); err != nil {
		t.Errorf("bob's code after alice's replace = %v, want untouched", err)
	}
}

func testBypassLimit(t *testing.T, e *devEnv) {
	ctx := t.Context()
	u := e.user("alice")
	for i := range 10 {
		if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{PreserveExisting: true}); err != nil {
			t.Fatalf("request %d = %v", i+1, err)
		}
	}
	for _, req := range []admin.BypassRequest{
		{Count: ptr(1), PreserveExisting: true},
		{Codes: ptr("123456789"), PreserveExisting: true},
	} {
		_, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, req)
		want := "count"
		if req.Codes != nil {
			want = "codes"
		}
		if fieldOf(err) != want || !strings.Contains(err.Error(), "at most 100 active bypass codes") ||
			!strings.Contains(err.Error(), "would make 101") {
			t.Errorf("101st code = %v, want Invalid naming %s and the limit of 100 and 101", err, want)
		}
	}
	if got := len(e.stored(u.ID)); got != 100 {
		t.Errorf("stored %d codes after the refused requests, want 100", got)
	}
	// Replacing is always possible.
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{}); err != nil || len(e.stored(u.ID)) != 10 {
		t.Errorf("replace at the limit = %v, stored %d; want 10", err, len(e.stored(u.ID)))
	}
	// Expired and used-up codes do not count.
	e2 := e.user("bob")
	for range 10 {
		if _, err := e.svc.CreateBypassCodes(ctx, e.owner, e2.ID, admin.BypassRequest{PreserveExisting: true, ValidSecs: ptr[int64](10)}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(10 * time.Second)
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, e2.ID, admin.BypassRequest{PreserveExisting: true}); err != nil {
		t.Errorf("create next to 100 expired codes = %v, want success", err)
	}
}

func TestBypassLimitSQLite(t *testing.T)   { testBypassLimit(t, newDevEnv(t)) }
func TestBypassLimitPostgres(t *testing.T) { testBypassLimit(t, newDevEnv(t, sqltest.PostgresDSN(t))) }

func testBypassConcurrentLimit(t *testing.T, e *devEnv) {
	ctx := t.Context()
	u := e.user("alice")
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{PreserveExisting: true})
			switch {
			case err == nil:
				ok.Add(1)
			case fieldOf(err) != "count":
				t.Errorf("concurrent create = %v, want success or the limit", err)
			}
		})
	}
	wg.Wait()
	if got, n := ok.Load(), len(e.stored(u.ID)); got != 10 || n != 100 {
		t.Errorf("20 concurrent requests of 10: %d succeeded, %d stored; want 10 and 100", got, n)
	}
}

func TestBypassConcurrentLimitSQLite(t *testing.T) { testBypassConcurrentLimit(t, newDevEnv(t)) }
func TestBypassConcurrentLimitPostgres(t *testing.T) {
	testBypassConcurrentLimit(t, newDevEnv(t, sqltest.PostgresDSN(t)))
}

func TestBypassUnknownUser(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	// An administrator is not a user.
	adm := mfa.Admin{ID: "DEADMINISNOTAUSER00", Email: "a@example.com", Name: "A", Role: mfa.RoleOwner, Created: e.clock.Now()}
	if err := e.store.CreateAdmin(ctx, adm); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"DUNOSUCHUSER000000", adm.ID, ""} {
		if _, err := e.svc.CreateBypassCodes(ctx, e.owner, id, admin.BypassRequest{}); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("CreateBypassCodes(%q) = %v, want NotFound", id, err)
		}
		if id == "" {
			continue
		}
		if _, _, err := e.svc.ListBypassCodes(ctx, e.owner, id, mfa.Page{}); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("ListBypassCodes(%q) = %v, want NotFound", id, err)
		}
	}
	for _, id := range []string{"DBNOSUCHCODE000000", ""} {
		if _, err := e.svc.GetBypassCode(ctx, e.owner, id); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("GetBypassCode(%q) = %v, want NotFound", id, err)
		}
		if err := e.svc.DeleteBypassCode(ctx, e.owner, id); !errors.Is(err, mfa.ErrNotFound) {
			t.Errorf("DeleteBypassCode(%q) = %v, want NotFound", id, err)
		}
	}
}

// TestBypassCodesNeverShown: after creation no code appears in a returned
// object, the admin log or slog output.
func TestBypassCodesNeverShown(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	codes, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{})
	if err != nil {
		t.Fatal(err)
	}
	chosen, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Codes: ptr("314159265,271828182"), PreserveExisting: true})
	if err != nil {
		t.Fatal(err)
	}
	codes = append(codes, chosen...)
	list, _, _ := e.svc.ListBypassCodes(ctx, e.owner, "", mfa.Page{})
	one, _ := e.svc.GetBypassCode(ctx, e.owner, list[0].Code.ID)
	if err := e.svc.DeleteBypassCode(ctx, e.owner, list[1].Code.ID); err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprintf("%#v %#v %s %s", list, one, e.adminLog(), e.logs.String())
	for _, b := range append(list, one) {
		if b.Code.Code != "" {
			t.Errorf("returned bypass code %s carries its code", b.Code.ID)
		}
	}
	for _, c := range codes {
		if strings.Contains(shown, c) {
			t.Errorf("code %s appears in a returned object or a log", c)
		}
	}
	if !strings.Contains(e.adminLog(), "bypass_create") || !strings.Contains(e.adminLog(), "bypass_delete") {
		t.Errorf("admin log = %s, want bypass_create and bypass_delete records", e.adminLog())
	}
}

func TestBypassListPaging(t *testing.T) {
	e := newDevEnv(t)
	ctx := t.Context()
	u := e.user("alice")
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateBypassCodes(ctx, e.owner, u.ID, admin.BypassRequest{Count: ptr(3), ValidSecs: ptr[int64](5), PreserveExisting: true}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(5 * time.Second)
	var ids []string
	for off := 0; off < 10; off += 2 {
		page, total, err := e.svc.ListBypassCodes(ctx, e.owner, u.ID, mfa.Page{Limit: 2, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		if total != 5 {
			t.Errorf("page at %d: total %d, want 5 (expired codes not counted)", off, total)
		}
		for _, b := range page {
			ids = append(ids, b.Code.ID)
		}
	}
	if len(ids) != 5 {
		t.Errorf("paging found %d codes, want 5", len(ids))
	}
}
