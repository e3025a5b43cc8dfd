package mfatest

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// memStore is a deliberately plain in-memory mfa.Store, one mutex around
// everything, written from the contracts' doc comments. It exists only to
// prove that the suite passes on a correct implementation, so that a
// backend's failure can be blamed on the backend.
type memStore struct {
	mu sync.Mutex
	memData
	tokenKey [32]byte // TrustedTokenFor's key

	events memEvents
}

type memRateLimit struct {
	start, end time.Time
	count      int
}

type memTrusted struct {
	mfa.TrustedDevice
	token mfa.Passcode
}

type memActivation struct {
	mfa.Activation
	code mfa.Passcode
}

type memCode struct {
	mfa.BypassCode
	code mfa.Passcode
}

type memBatch struct {
	mfa.SMSBatch
	used []bool
}

var _ mfa.Store = (*memStore)(nil)

func newMemStore() *memStore {
	s := &memStore{memData: memData{
		users:        map[string]mfa.User{},
		groups:       map[string]mfa.Group{},
		userGroups:   map[[2]string]bool{},
		phones:       map[string]mfa.Phone{},
		userPhones:   map[[2]string]bool{},
		auths:        map[string]mfa.Authenticator{},
		tokens:       map[string]mfa.Token{},
		userTokens:   map[[2]string]bool{},
		codes:        map[string]memCode{},
		batches:      map[string]memBatch{},
		txs:          map[string]mfa.Transaction{},
		integrations: map[string]mfa.Integration{},
		admins:       map[string]mfa.Admin{},
		adminTOTP:    map[string]mfa.AdminTOTP{},
		adminKeys:    map[string]mfa.WebAuthnCredential{},
		activations:  map[string]memActivation{},
		trusted:      map[string]memTrusted{},
		rateLimits:   map[string]memRateLimit{},
		signatures:   map[string]time.Time{},
		sessions:     map[string]mfa.Session{},
		logins:       map[string]mfa.LoginRequest{},
		passwords:    map[string]mfa.UserPassword{},
		identity:     map[string]memIdentity{},
		signingKeys:  map[string]mfa.SigningKey{},
		adminActs:    map[string]mfa.AdminActivation{},
		webauthn:     map[string]mfa.WebAuthnCredential{},
	}, events: memEvents{topics: map[string]map[*chan struct{}]bool{}}}
	rand.Read(s.tokenKey[:])
	return s
}

func (s *memStore) TrustedTokenFor(ctx context.Context, txid string) (mfa.Passcode, error) {
	if txid == "" {
		return "", mfa.InvalidField("txid", "required")
	}
	m := hmac.New(sha256.New, s.tokenKey[:])
	m.Write([]byte(txid))
	return mfa.Passcode(base64.RawURLEncoding.EncodeToString(m.Sum(nil))), nil
}

var (
	errNotFound = mfa.E(mfa.NotFound, "not found")
	errConflict = mfa.E(mfa.Conflict, "conflict")
)

func sortedValues[K comparable, V any](m map[K]V, created func(V) time.Time, id func(V) string) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b V) int {
		if c := created(a).Compare(created(b)); c != 0 {
			return c
		}
		return strings.Compare(id(a), id(b))
	})
	return out
}

func page[T any](xs []T, p mfa.Page) ([]T, int) {
	total := len(xs)
	from := min(p.Offset, total)
	to := total
	if p.Limit > 0 {
		to = min(from+p.Limit, total)
	}
	return slices.Clone(xs[from:to]), total
}

func (s *memStore) Ping(ctx context.Context) error { return nil }

// Atomic transactions: Atomic holds s.mu for fn's whole run; methods called
// with the ctx it hands fn see that (memTxKey) and do not lock again. A
// snapshot of the data taken first is put back if fn fails.

type memTxKey struct{ s *memStore }

// lock locks s.mu unless ctx runs inside this store's Atomic, which holds
// it, and returns the matching unlock.
func (s *memStore) lock(ctx context.Context) func() {
	if ctx.Value(memTxKey{s}) != nil {
		return func() {}
	}
	s.mu.Lock()
	return s.mu.Unlock
}

func (s *memStore) Atomic(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if ctx.Value(memTxKey{s}) == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		ctx = context.WithValue(ctx, memTxKey{s}, true)
	}
	snap := s.snapshot()
	ok := false
	defer func() {
		if !ok {
			s.restore(snap)
		}
	}()
	if err := fn(ctx); err != nil {
		return err
	}
	ok = true
	return nil
}

// memData is everything a memStore stores, for snapshots.
type memData struct {
	users        map[string]mfa.User
	groups       map[string]mfa.Group
	userGroups   map[[2]string]bool // {user id, group id}
	phones       map[string]mfa.Phone
	userPhones   map[[2]string]bool
	auths        map[string]mfa.Authenticator
	tokens       map[string]mfa.Token
	userTokens   map[[2]string]bool
	codes        map[string]memCode
	batches      map[string]memBatch
	txs          map[string]mfa.Transaction
	authLog      []mfa.AuthLogEntry
	integrations map[string]mfa.Integration
	admins       map[string]mfa.Admin
	adminTOTP    map[string]mfa.AdminTOTP
	adminKeys    map[string]mfa.WebAuthnCredential // administrators' security keys by id
	settings     *mfa.Settings
	adminLog     []mfa.AdminLogEntry
	phoneLog     []mfa.TelephonyLogEntry
	nextLogID    int64
	activations  map[string]memActivation
	trusted      map[string]memTrusted
	rateLimits   map[string]memRateLimit
	signatures   map[string]time.Time // claimed signature key -> expiry
	sessions     map[string]mfa.Session
	logins       map[string]mfa.LoginRequest
	passwords    map[string]mfa.UserPassword
	identity     map[string]memIdentity
	signingKeys  map[string]mfa.SigningKey
	adminActs    map[string]mfa.AdminActivation // by id; Code kept (a fake: no hashing)
	webauthn     map[string]mfa.WebAuthnCredential
}

// snapshot copies the data (values are replaced, never changed in place,
// except an SMS batch's used codes, which are copied too).
func (s *memStore) snapshot() memData {
	batches := maps.Clone(s.batches)
	for id, b := range batches {
		b.used = slices.Clone(b.used)
		batches[id] = b
	}
	var settings *mfa.Settings
	if s.settings != nil {
		st := *s.settings
		settings = &st
	}
	return memData{
		signatures: maps.Clone(s.signatures), sessions: maps.Clone(s.sessions),
		users: maps.Clone(s.users), phones: maps.Clone(s.phones), userPhones: maps.Clone(s.userPhones),
		auths: maps.Clone(s.auths), tokens: maps.Clone(s.tokens), userTokens: maps.Clone(s.userTokens),
		codes: maps.Clone(s.codes), batches: batches, txs: maps.Clone(s.txs), authLog: slices.Clone(s.authLog),
		integrations: maps.Clone(s.integrations), admins: maps.Clone(s.admins), adminTOTP: maps.Clone(s.adminTOTP), adminKeys: maps.Clone(s.adminKeys), settings: settings,
		adminLog: slices.Clone(s.adminLog), phoneLog: slices.Clone(s.phoneLog), nextLogID: s.nextLogID,
		activations: maps.Clone(s.activations), trusted: maps.Clone(s.trusted), rateLimits: maps.Clone(s.rateLimits),
		logins: maps.Clone(s.logins), groups: maps.Clone(s.groups), userGroups: maps.Clone(s.userGroups),
		passwords: maps.Clone(s.passwords), identity: maps.Clone(s.identity), signingKeys: maps.Clone(s.signingKeys),
		adminActs: maps.Clone(s.adminActs),
		webauthn:  maps.Clone(s.webauthn),
	}
}

func (s *memStore) restore(d memData) { s.memData = d }

// Users.

func (s *memStore) nameTaken(name, except string) bool {
	for _, u := range s.users {
		if u.ID == except {
			continue
		}
		if strings.EqualFold(u.Username, name) {
			return true
		}
		for _, a := range u.Aliases {
			if strings.EqualFold(a, name) {
				return true
			}
		}
	}
	return false
}

func (s *memStore) namesTaken(u mfa.User) bool {
	for _, n := range append([]string{u.Username}, u.Aliases...) {
		if s.nameTaken(n, u.ID) {
			return true
		}
	}
	return false
}

func (s *memStore) CreateUser(ctx context.Context, u mfa.User) error {
	defer s.lock(ctx)()
	if _, ok := s.users[u.ID]; ok || s.namesTaken(u) {
		return errConflict
	}
	u.Aliases = slices.Clone(u.Aliases)
	s.users[u.ID] = u
	return nil
}

func (s *memStore) GetUser(ctx context.Context, id string) (mfa.User, error) {
	defer s.lock(ctx)()
	u, ok := s.users[id]
	if !ok {
		return mfa.User{}, errNotFound
	}
	return u, nil
}

func (s *memStore) LoginAccount(ctx context.Context, q mfa.AccountQuery) (mfa.Account, error) {
	defer s.lock(ctx)()
	ctx = context.WithValue(ctx, memTxKey{s}, true) // the lock is held
	var (
		a   mfa.Account
		err error
	)
	if q.UserID != "" {
		a.User, err = s.GetUser(ctx, q.UserID)
	} else {
		a.User, err = s.GetUserByName(ctx, q.Name)
	}
	if err != nil {
		return mfa.Account{}, err
	}
	if a.Phones, err = s.UserPhones(ctx, a.User.ID); err != nil {
		return mfa.Account{}, err
	}
	if a.Tokens, err = s.UserTokens(ctx, a.User.ID); err != nil {
		return mfa.Account{}, err
	}
	if a.Groups, err = s.UserGroups(ctx, a.User.ID); err != nil {
		return mfa.Account{}, err
	}
	if a.Authenticators, err = s.UserAuthenticators(ctx, a.User.ID); err != nil {
		return mfa.Account{}, err
	}
	if q.Revoked {
		if a.Revoked, err = s.RevokedAuthenticators(ctx, a.User.ID, mfa.RevokedLimit); err != nil {
			return mfa.Account{}, err
		}
	}
	if !q.SMSAt.IsZero() {
		for _, p := range a.Phones {
			next, _, err := s.SMSBatchState(ctx, a.User.ID, p.ID, q.SMSAt)
			if err == nil {
				if a.SMSNext == nil {
					a.SMSNext = map[string]int{}
				}
				a.SMSNext[p.ID] = next
			}
		}
	}
	return a, nil
}

func (s *memStore) GetUserByName(ctx context.Context, name string) (mfa.User, error) {
	defer s.lock(ctx)()
	for _, u := range s.users {
		if matchName(u, name) {
			return u, nil
		}
	}
	return mfa.User{}, errNotFound
}

func matchName(u mfa.User, name string) bool {
	if strings.EqualFold(u.Username, name) {
		return true
	}
	for _, a := range u.Aliases {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

func (s *memStore) ListUsers(ctx context.Context, f mfa.UserFilter) ([]mfa.User, int, error) {
	defer s.lock(ctx)()
	var out []mfa.User
	for _, u := range sortedValues(s.users, func(u mfa.User) time.Time { return u.Created }, func(u mfa.User) string { return u.ID }) {
		if f.Username != "" && !matchName(u, f.Username) ||
			f.Email != "" && !strings.EqualFold(u.Email, f.Email) ||
			len(f.IDs) > 0 && !slices.Contains(f.IDs, u.ID) ||
			len(f.Usernames) > 0 && !slices.Contains(f.Usernames, u.Username) ||
			!s.searchMatch(u, f.Search) {
			continue
		}
		out = append(out, u)
	}
	got, total := page(out, f.Page)
	return got, total, nil
}

// searchMatch is UserFilter.Search.
func (s *memStore) searchMatch(u mfa.User, q string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return true
	}
	for _, v := range append([]string{u.Username, u.Email, u.RealName}, u.Aliases...) {
		if strings.Contains(strings.ToLower(v), q) {
			return true
		}
	}
	if d := mfa.SearchDigits(q); d != "" {
		for k := range s.userPhones {
			if k[0] == u.ID && strings.Contains(s.phones[k[1]].Number, d) {
				return true
			}
		}
	}
	return false
}

func (s *memStore) UpdateUser(ctx context.Context, u mfa.User) error {
	defer s.lock(ctx)()
	old, ok := s.users[u.ID]
	if !ok {
		return errNotFound
	}
	if s.namesTaken(u) {
		return errConflict
	}
	old.Username, old.RealName, old.FirstName, old.LastName = u.Username, u.RealName, u.FirstName, u.LastName
	old.Email, old.Status, old.Aliases, old.Notes = u.Email, u.Status, slices.Clone(u.Aliases), u.Notes
	s.users[u.ID] = old
	return nil
}

func (s *memStore) SetUserDefaults(ctx context.Context, userID, device, method string) error {
	defer s.lock(ctx)()
	u, ok := s.users[userID]
	if !ok {
		return errNotFound
	}
	u.DefaultDevice, u.DefaultMethod = device, method
	s.users[userID] = u
	return nil
}

func (s *memStore) DeleteUser(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.users[id]; !ok {
		return errNotFound
	}
	delete(s.users, id)
	for k, c := range s.webauthn {
		if c.UserID == id {
			delete(s.webauthn, k)
		}
	}
	for k := range s.userGroups {
		if k[0] == id {
			delete(s.userGroups, k)
		}
	}
	delete(s.passwords, id)
	delete(s.identity, id)
	for k, c := range s.codes {
		if c.UserID == id {
			delete(s.codes, k)
		}
	}
	for k, b := range s.batches {
		if b.UserID == id {
			delete(s.batches, k)
		}
	}
	for k := range s.userPhones {
		if k[0] == id {
			delete(s.userPhones, k)
		}
	}
	for k := range s.userTokens {
		if k[0] == id {
			delete(s.userTokens, k)
		}
	}
	for k, a := range s.activations {
		if a.UserID == id {
			delete(s.activations, k)
		}
	}
	for k, d := range s.trusted {
		if d.UserID == id {
			delete(s.trusted, k)
		}
	}
	return nil
}

// LockUser checks the user exists: Atomic already holds s.mu for the
// whole transaction.
func (s *memStore) LockUser(ctx context.Context, userID string) error {
	defer s.lock(ctx)()
	if _, ok := s.users[userID]; !ok {
		return errNotFound
	}
	return nil
}

func (s *memStore) ResetAuthFailures(ctx context.Context, userID string) error {
	defer s.lock(ctx)()
	u, ok := s.users[userID]
	if !ok {
		return errNotFound
	}
	u.FailedAttempts = 0
	if u.Status == mfa.StatusLockedOut {
		u.Status, u.LockedAt = mfa.StatusActive, time.Time{}
	}
	s.users[userID] = u
	return nil
}

func (s *memStore) UnlockExpired(ctx context.Context, lockedBefore time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, u := range s.users {
		if u.Status == mfa.StatusLockedOut && !u.LockedAt.After(lockedBefore) {
			u.Status, u.LockedAt, u.FailedAttempts = mfa.StatusActive, time.Time{}, 0
			s.users[id] = u
			n++
		}
	}
	return n, nil
}

// Phones.

func (s *memStore) CreatePhone(ctx context.Context, p mfa.Phone) error {
	defer s.lock(ctx)()
	if _, ok := s.phones[p.ID]; ok {
		return errConflict
	}
	p.Activated, p.PushMutedUntil = false, time.Time{}
	s.phones[p.ID] = p
	return nil
}

func (s *memStore) GetPhone(ctx context.Context, id string) (mfa.Phone, error) {
	defer s.lock(ctx)()
	p, ok := s.phones[id]
	if !ok {
		return mfa.Phone{}, errNotFound
	}
	return p, nil
}

func (s *memStore) ListPhones(ctx context.Context, f mfa.PhoneFilter) ([]mfa.Phone, int, error) {
	defer s.lock(ctx)()
	var out []mfa.Phone
	for _, p := range sortedValues(s.phones, func(p mfa.Phone) time.Time { return p.Created }, func(p mfa.Phone) string { return p.ID }) {
		if f.Number != "" && p.Number != f.Number || f.Extension != "" && p.Extension != f.Extension {
			continue
		}
		out = append(out, p)
	}
	got, total := page(out, f.Page)
	return got, total, nil
}

func (s *memStore) UpdatePhone(ctx context.Context, p mfa.Phone) error {
	defer s.lock(ctx)()
	old, ok := s.phones[p.ID]
	if !ok {
		return errNotFound
	}
	p.Created, p.Activated, p.PushMutedUntil = old.Created, old.Activated, old.PushMutedUntil
	s.phones[p.ID] = p
	return nil
}

func (s *memStore) MutePush(ctx context.Context, phoneID string, until time.Time) error {
	defer s.lock(ctx)()
	p, ok := s.phones[phoneID]
	if !ok {
		return errNotFound
	}
	p.PushMutedUntil = until.Truncate(time.Microsecond)
	s.phones[phoneID] = p
	return nil
}

func (s *memStore) DeletePhone(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.phones[id]; !ok {
		return errNotFound
	}
	delete(s.phones, id)
	for k, a := range s.auths {
		if a.PhoneID == id {
			delete(s.auths, k)
		}
	}
	for k, b := range s.batches {
		if b.PhoneID == id {
			delete(s.batches, k)
		}
	}
	for k := range s.userPhones {
		if k[1] == id {
			delete(s.userPhones, k)
		}
	}
	for k, tx := range s.txs {
		if tx.PhoneID == id {
			delete(s.txs, k)
		}
	}
	for k, a := range s.activations {
		if a.PhoneID == id {
			delete(s.activations, k)
		}
	}
	return nil
}

func (s *memStore) AttachPhone(ctx context.Context, userID, phoneID string) error {
	defer s.lock(ctx)()
	_, okU := s.users[userID]
	_, okP := s.phones[phoneID]
	if !okU || !okP {
		return errNotFound
	}
	s.userPhones[[2]string{userID, phoneID}] = true
	return nil
}

func (s *memStore) DetachPhone(ctx context.Context, userID, phoneID string) error {
	defer s.lock(ctx)()
	k := [2]string{userID, phoneID}
	if !s.userPhones[k] {
		return errNotFound
	}
	delete(s.userPhones, k)
	return nil
}

func (s *memStore) UserPhones(ctx context.Context, userID string) ([]mfa.Phone, error) {
	defer s.lock(ctx)()
	var out []mfa.Phone
	for k := range s.userPhones {
		if k[0] == userID {
			out = append(out, s.phones[k[1]])
		}
	}
	return out, nil
}

func (s *memStore) PhoneUsers(ctx context.Context, phoneID string) ([]mfa.User, error) {
	defer s.lock(ctx)()
	var out []mfa.User
	for k := range s.userPhones {
		if k[1] == phoneID {
			out = append(out, s.users[k[0]])
		}
	}
	return out, nil
}

// Authenticators.

func (s *memStore) ActivateAuthenticator(ctx context.Context, a mfa.Authenticator) error {
	defer s.lock(ctx)()
	return s.activate(a)
}

// activate is ActivateAuthenticator under s.mu.
func (s *memStore) activate(a mfa.Authenticator) error {
	p, ok := s.phones[a.PhoneID]
	if !ok {
		return errNotFound
	}
	if _, ok := s.auths[a.ID]; ok {
		return errConflict
	}
	for id, old := range s.auths {
		if old.PhoneID == a.PhoneID && old.Status == mfa.AuthenticatorActive {
			old.Status = mfa.AuthenticatorRevoked
			s.auths[id] = old
		}
	}
	a.Status = mfa.AuthenticatorActive
	s.auths[a.ID] = a
	p.Activated = true
	s.phones[p.ID] = p
	return nil
}

func (s *memStore) GetAuthenticator(ctx context.Context, id string) (mfa.Authenticator, error) {
	defer s.lock(ctx)()
	a, ok := s.auths[id]
	if !ok {
		return mfa.Authenticator{}, errNotFound
	}
	return a, nil
}

func (s *memStore) PhoneAuthenticator(ctx context.Context, phoneID string) (mfa.Authenticator, error) {
	defer s.lock(ctx)()
	for _, a := range s.auths {
		if a.PhoneID == phoneID && a.Status == mfa.AuthenticatorActive {
			return a, nil
		}
	}
	return mfa.Authenticator{}, errNotFound
}

func (s *memStore) UserAuthenticators(ctx context.Context, userID string) ([]mfa.Authenticator, error) {
	defer s.lock(ctx)()
	var out []mfa.Authenticator
	for _, a := range s.auths {
		if a.Status == mfa.AuthenticatorActive && s.userPhones[[2]string{userID, a.PhoneID}] {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *memStore) RevokeAuthenticator(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	a, ok := s.auths[id]
	if !ok {
		return errNotFound
	}
	if a.Status == mfa.AuthenticatorActive {
		p := s.phones[a.PhoneID]
		p.Activated = false
		s.phones[a.PhoneID] = p
	}
	a.Status = mfa.AuthenticatorRevoked
	s.auths[id] = a
	return nil
}

func (s *memStore) TouchAuthenticator(ctx context.Context, id string, at time.Time) error {
	defer s.lock(ctx)()
	a, ok := s.auths[id]
	if !ok {
		return errNotFound
	}
	a.LastSeen = at
	s.auths[id] = a
	p := s.phones[a.PhoneID]
	p.LastSeen = at
	s.phones[a.PhoneID] = p
	return nil
}

// Tokens.

func (s *memStore) CreateToken(ctx context.Context, tk mfa.Token) error {
	defer s.lock(ctx)()
	if _, ok := s.tokens[tk.ID]; ok {
		return errConflict
	}
	for _, o := range s.tokens {
		if o.Type == tk.Type && o.Serial == tk.Serial {
			return errConflict
		}
	}
	s.tokens[tk.ID] = tk
	return nil
}

func (s *memStore) GetToken(ctx context.Context, id string) (mfa.Token, error) {
	defer s.lock(ctx)()
	tk, ok := s.tokens[id]
	if !ok {
		return mfa.Token{}, errNotFound
	}
	return tk, nil
}

func (s *memStore) ListTokens(ctx context.Context, f mfa.TokenFilter) ([]mfa.Token, int, error) {
	defer s.lock(ctx)()
	var out []mfa.Token
	for _, tk := range sortedValues(s.tokens, func(tk mfa.Token) time.Time { return tk.Created }, func(tk mfa.Token) string { return tk.ID }) {
		if f.Type != "" && tk.Type != f.Type || f.Serial != "" && tk.Serial != f.Serial {
			continue
		}
		out = append(out, tk)
	}
	got, total := page(out, f.Page)
	return got, total, nil
}

func (s *memStore) UpdateToken(ctx context.Context, tk mfa.Token) error {
	defer s.lock(ctx)()
	old, ok := s.tokens[tk.ID]
	if !ok {
		return errNotFound
	}
	old.TOTPStep, old.Counter, old.LastStep, old.YKCounter = tk.TOTPStep, max(old.Counter, tk.Counter), tk.LastStep, max(old.YKCounter, tk.YKCounter)
	s.tokens[tk.ID] = old
	return nil
}

func (s *memStore) RenameToken(ctx context.Context, id, serial string) error {
	defer s.lock(ctx)()
	tk, ok := s.tokens[id]
	if !ok {
		return errNotFound
	}
	for oid, o := range s.tokens {
		if oid != id && o.Type == tk.Type && o.Serial == serial {
			return errConflict
		}
	}
	tk.Serial = serial
	s.tokens[id] = tk
	return nil
}

func (s *memStore) DeleteToken(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.tokens[id]; !ok {
		return errNotFound
	}
	delete(s.tokens, id)
	for k := range s.userTokens {
		if k[1] == id {
			delete(s.userTokens, k)
		}
	}
	return nil
}

func (s *memStore) AttachToken(ctx context.Context, userID, tokenID string) error {
	defer s.lock(ctx)()
	_, okU := s.users[userID]
	_, okT := s.tokens[tokenID]
	if !okU || !okT {
		return errNotFound
	}
	s.userTokens[[2]string{userID, tokenID}] = true
	return nil
}

func (s *memStore) DetachToken(ctx context.Context, userID, tokenID string) error {
	defer s.lock(ctx)()
	k := [2]string{userID, tokenID}
	if !s.userTokens[k] {
		return errNotFound
	}
	delete(s.userTokens, k)
	return nil
}

func (s *memStore) UserTokens(ctx context.Context, userID string) ([]mfa.Token, error) {
	defer s.lock(ctx)()
	var out []mfa.Token
	for k := range s.userTokens {
		if k[0] == userID {
			out = append(out, s.tokens[k[1]])
		}
	}
	return out, nil
}

func (s *memStore) TokenUsers(ctx context.Context, tokenID string) ([]mfa.User, error) {
	defer s.lock(ctx)()
	var out []mfa.User
	for k := range s.userTokens {
		if k[1] == tokenID {
			out = append(out, s.users[k[0]])
		}
	}
	return out, nil
}

// Bypass codes.

func (s *memStore) CreateBypassCodes(ctx context.Context, req mfa.NewBypassCodes, now time.Time) error {
	defer s.lock(ctx)()
	if _, ok := s.users[req.UserID]; !ok {
		return errNotFound
	}
	held := map[mfa.Passcode]bool{}
	unspent := 0
	if req.PreserveExisting {
		for _, c := range s.codes {
			if c.UserID == req.UserID {
				held[c.code] = true
				if !c.Spent(now) {
					unspent++
				}
			}
		}
	}
	for _, c := range req.Codes {
		if _, ok := s.codes[c.ID]; ok {
			return errConflict
		}
		if held[c.Code] {
			return &mfa.Error{Kind: mfa.Conflict, Field: "codes", Msg: "duplicate code"}
		}
		held[c.Code] = true
		if !c.Spent(now) {
			unspent++
		}
	}
	if unspent > req.MaxActive {
		return mfa.InvalidField("count", "too many active bypass codes")
	}
	if !req.PreserveExisting {
		for k, c := range s.codes {
			if c.UserID == req.UserID {
				delete(s.codes, k)
			}
		}
	}
	for _, c := range req.Codes {
		code := c.Code
		c.Code = ""
		c.UserID = req.UserID
		s.codes[c.ID] = memCode{BypassCode: c, code: code}
	}
	return nil
}

func (s *memStore) GetBypassCode(ctx context.Context, id string) (mfa.BypassCode, error) {
	defer s.lock(ctx)()
	c, ok := s.codes[id]
	if !ok {
		return mfa.BypassCode{}, errNotFound
	}
	return c.BypassCode, nil
}

func (s *memStore) ListBypassCodes(ctx context.Context, f mfa.BypassFilter) ([]mfa.BypassCode, int, error) {
	defer s.lock(ctx)()
	var out []mfa.BypassCode
	for _, c := range sortedValues(s.codes, func(c memCode) time.Time { return c.Created }, func(c memCode) string { return c.ID }) {
		if f.UserID == "" || c.UserID == f.UserID {
			out = append(out, c.BypassCode)
		}
	}
	got, total := page(out, f.Page)
	return got, total, nil
}

func (s *memStore) DeleteBypassCode(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.codes[id]; !ok {
		return errNotFound
	}
	delete(s.codes, id)
	return nil
}

func (s *memStore) DeleteSpentBypassCodes(ctx context.Context, now time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, c := range s.codes {
		if c.Spent(now) {
			delete(s.codes, id)
			n++
		}
	}
	return n, nil
}

// SMS.

func (s *memStore) ReplaceSMSBatch(ctx context.Context, b mfa.SMSBatch) error {
	defer s.lock(ctx)()
	if old, ok := s.batches[b.ID]; ok && (old.UserID != b.UserID || old.PhoneID != b.PhoneID) {
		return errConflict
	}
	for id, old := range s.batches {
		if old.UserID == b.UserID && old.PhoneID == b.PhoneID {
			delete(s.batches, id)
		}
	}
	b.Codes = slices.Clone(b.Codes)
	s.batches[b.ID] = memBatch{SMSBatch: b, used: make([]bool, len(b.Codes))}
	return nil
}

func batchLive(b memBatch, now time.Time) bool {
	return b.Expires.IsZero() || now.Before(b.Expires)
}

func (s *memStore) SMSBatchState(ctx context.Context, userID, phoneID string, now time.Time) (int, int, error) {
	defer s.lock(ctx)()
	for _, b := range s.batches {
		if b.UserID != userID || b.PhoneID != phoneID || !batchLive(b, now) {
			continue
		}
		next, remaining := -1, 0
		for i, used := range b.used {
			if !used {
				remaining++
				if next < 0 {
					next = i
				}
			}
		}
		if remaining > 0 {
			return next, remaining, nil
		}
	}
	return 0, 0, errNotFound
}

// Auth.

func (s *memStore) ApplyAuth(ctx context.Context, w mfa.AuthWrite) (mfa.AuthOutcome, error) {
	if err := w.CheckClaims(); err != nil {
		return mfa.AuthOutcome{}, err
	}
	defer s.lock(ctx)()
	var out mfa.AuthOutcome
	if cl := w.Claim; cl != nil {
		now := cl.Now.Truncate(time.Microsecond)
		if e, ok := s.signatures[cl.Key]; ok && e.After(now) {
			return out, &mfa.Error{Kind: mfa.Conflict, Field: "signature", Msg: "request already used"}
		}
		s.signatures[cl.Key] = cl.Expires.Truncate(time.Microsecond)
	}
	for _, h := range w.Hits {
		key, now := mfa.RateLimitKey(h.Key), h.Now.Truncate(time.Microsecond)
		c, ok := s.rateLimits[key]
		if ok && c.end.After(now) {
			c.count++
		} else {
			c = memRateLimit{start: now, end: now.Add(h.Window).Truncate(time.Microsecond), count: 1}
		}
		s.rateLimits[key] = c
		if c.count > h.Limit {
			return out, mfa.RetryLater(h.Msg, c.end.Sub(now))
		}
	}
	g := w.Guard
	switch g.Kind {
	case mfa.GuardAuthenticatorCounter, mfa.GuardAuthenticatorStep:
		a, ok := s.auths[g.ID]
		if !ok {
			return out, errNotFound
		}
		if g.Kind == mfa.GuardAuthenticatorCounter {
			if a.HOTPCounter > g.Counter {
				return out, errConflict
			}
			a.HOTPCounter = g.Counter + 1
		} else {
			if a.TOTPLastStep >= g.Step {
				return out, errConflict
			}
			a.TOTPLastStep = g.Step
		}
		s.auths[g.ID] = a
	case mfa.GuardTokenCounter, mfa.GuardTokenStep, mfa.GuardYubiKeyCounter:
		tk, ok := s.tokens[g.ID]
		if !ok {
			return out, errNotFound
		}
		switch g.Kind {
		case mfa.GuardTokenCounter:
			if tk.Counter > g.Counter {
				return out, errConflict
			}
			tk.Counter = g.Counter + 1
		case mfa.GuardTokenStep:
			if tk.LastStep >= g.Step {
				return out, errConflict
			}
			tk.LastStep = g.Step
		default:
			if uint64(tk.YKCounter) >= g.Counter {
				return out, errConflict
			}
			tk.YKCounter = uint32(g.Counter)
		}
		s.tokens[g.ID] = tk
	case mfa.GuardWebAuthnCounter:
		c, ok := s.webauthn[g.ID]
		if !ok {
			return out, errNotFound
		}
		if c.Cloned || !(uint64(c.SignCount) < g.Counter || c.SignCount == 0 && g.Counter == 0) {
			return out, errConflict
		}
		c.SignCount, c.LastUsed = uint32(g.Counter), g.Now
		s.webauthn[g.ID] = c
	case mfa.GuardBypassCode:
		var found *memCode
		for _, c := range s.codes {
			if c.UserID == w.UserID && c.code == g.Code && !c.Spent(g.Now) {
				found = &c
				break
			}
		}
		if found == nil {
			return out, errNotFound
		}
		out.BypassUnlimited = found.Unlimited
		if !found.Unlimited {
			found.UsesLeft--
			if found.UsesLeft <= 0 {
				delete(s.codes, found.ID)
			} else {
				s.codes[found.ID] = *found
			}
		}
		out.BypassUsesLeft = found.UsesLeft
	case mfa.GuardSMSCode:
		hit := false
		for id, b := range s.batches {
			if b.UserID != w.UserID || !batchLive(b, g.Now) {
				continue
			}
			for i, c := range b.Codes {
				if c != g.Code {
					continue
				}
				if b.used[i] {
					return out, errConflict
				}
				b.used[i] = true
				s.batches[id] = b
				remaining := 0
				for _, u := range b.used {
					if !u {
						remaining++
					}
				}
				out.SMS = mfa.SMSCodeUse{BatchID: b.ID, PhoneID: b.PhoneID, Index: i, Remaining: remaining}
				hit = true
				break
			}
			if hit {
				break
			}
		}
		if !hit {
			return out, errNotFound
		}
	}
	if u, ok := s.users[w.UserID]; ok {
		if w.Success {
			u.FailedAttempts, u.LastLogin = 0, w.At
		}
		if w.CountFailure {
			u.FailedAttempts++
			if w.Threshold > 0 && u.FailedAttempts >= w.Threshold && u.Status == mfa.StatusActive {
				u.Status, u.LockedAt = mfa.StatusLockedOut, w.At
				out.Failure.LockedOut = true
			}
			out.Failure.FailedAttempts, out.Failure.Status = u.FailedAttempts, u.Status
		}
		s.users[w.UserID] = u
	}
	if w.Log != nil {
		s.authLog = append(s.authLog, *w.Log)
	}
	return out, nil
}

func (s *memStore) CreateTransaction(ctx context.Context, tx mfa.Transaction) error {
	defer s.lock(ctx)()
	if _, ok := s.txs[tx.ID]; ok {
		return errConflict
	}
	s.txs[tx.ID] = tx
	s.events.publish(mfa.TopicTransaction(tx.ID), mfa.TopicPhone(tx.PhoneID))
	return nil
}

func (s *memStore) GetTransaction(ctx context.Context, id string) (mfa.Transaction, error) {
	defer s.lock(ctx)()
	tx, ok := s.txs[id]
	if !ok {
		return mfa.Transaction{}, errNotFound
	}
	return tx, nil
}

func (s *memStore) SetTransactionStatus(ctx context.Context, id, status, msg string) error {
	defer s.lock(ctx)()
	tx, ok := s.txs[id]
	if !ok {
		return errNotFound
	}
	if tx.State != mfa.TxPending {
		return errConflict
	}
	tx.Status, tx.StatusMsg = status, msg
	s.txs[id] = tx
	s.events.publish(mfa.TopicTransaction(id))
	return nil
}

func (s *memStore) CompleteTransaction(ctx context.Context, id string, o mfa.TxOutcome, log *mfa.AuthLogEntry) (mfa.Transaction, error) {
	defer s.lock(ctx)()
	tx, ok := s.txs[id]
	if !ok {
		return mfa.Transaction{}, errNotFound
	}
	if tx.State != mfa.TxPending {
		return mfa.Transaction{}, errConflict
	}
	tx.State, tx.Status, tx.StatusMsg, tx.Answered = o.State, o.Status, o.StatusMsg, o.At
	s.txs[id] = tx
	if u, ok := s.users[tx.UserID]; ok && (o.UserSuccess || o.UserFailure) {
		if o.UserSuccess {
			u.FailedAttempts, u.LastLogin = 0, o.At
		} else {
			u.FailedAttempts++
			if o.Threshold > 0 && u.FailedAttempts >= o.Threshold && u.Status == mfa.StatusActive {
				u.Status, u.LockedAt = mfa.StatusLockedOut, o.At
			}
		}
		s.users[tx.UserID] = u
	}
	if log != nil {
		s.authLog = append(s.authLog, *log)
	}
	s.events.publish(mfa.TopicTransaction(id), mfa.TopicPhone(tx.PhoneID))
	return tx, nil
}

func (s *memStore) PendingTransactions(ctx context.Context, phoneID string, now time.Time) ([]mfa.Transaction, error) {
	defer s.lock(ctx)()
	var out []mfa.Transaction
	for _, tx := range s.txs {
		if tx.PhoneID == phoneID && tx.State == mfa.TxPending && tx.Expires.After(now) {
			out = append(out, tx)
		}
	}
	return out, nil
}

func (s *memStore) ExpiredTransactions(ctx context.Context, now time.Time, limit int) ([]mfa.Transaction, error) {
	defer s.lock(ctx)()
	var out []mfa.Transaction
	for _, tx := range s.txs {
		if tx.State == mfa.TxPending && !tx.Expires.After(now) && len(out) < limit {
			out = append(out, tx)
		}
	}
	return out, nil
}

func (s *memStore) DeleteFinishedTransactions(ctx context.Context, before time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, tx := range s.txs {
		if tx.State != mfa.TxPending && tx.Expires.Before(before) {
			delete(s.txs, id)
			n++
		}
	}
	return n, nil
}

func (s *memStore) AppendAuthLog(ctx context.Context, e mfa.AuthLogEntry) error {
	defer s.lock(ctx)()
	s.authLog = append(s.authLog, e)
	return nil
}

func logKey(a, b mfa.AuthLogEntry) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.TxID, b.TxID)
}

func anyOf[T comparable](set []T, v T) bool { return len(set) == 0 || slices.Contains(set, v) }

func (s *memStore) ListAuthLog(ctx context.Context, f mfa.AuthLogFilter) ([]mfa.AuthLogEntry, int, error) {
	defer s.lock(ctx)()
	var match []mfa.AuthLogEntry
	for _, e := range s.authLog {
		if e.Time.Before(f.MinTime) || !f.MaxTime.IsZero() && e.Time.After(f.MaxTime) ||
			!anyOf(f.UserIDs, e.UserID) || !anyOf(f.IKeys, e.IKey) || !anyOf(f.Results, e.Result) ||
			!anyOf(f.Factors, e.Factor) || !anyOf(f.Reasons, e.Reason) || !anyOf(f.TxIDs, e.TxID) ||
			!anyOf(f.EventTypes, e.EventType) || !anyOf(f.DeviceIDs, e.DeviceID) {
			continue
		}
		match = append(match, e)
	}
	slices.SortFunc(match, logKey)
	if f.Descending {
		slices.Reverse(match)
	}
	cursor := mfa.AuthLogEntry{Time: f.AfterTime, TxID: f.AfterTxID}
	var out []mfa.AuthLogEntry
	for _, e := range match {
		if !f.AfterTime.IsZero() || f.AfterTxID != "" {
			c := logKey(e, cursor)
			if f.Descending {
				c = -c
			}
			if c <= 0 {
				continue
			}
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		out = append(out, e)
	}
	return out, len(match), nil
}

// Integrations.

func (s *memStore) CreateIntegration(ctx context.Context, in mfa.Integration) error {
	defer s.lock(ctx)()
	if _, ok := s.integrations[in.IKey]; ok {
		return errConflict
	}
	s.integrations[in.IKey] = in
	return nil
}

func (s *memStore) GetIntegration(ctx context.Context, ikey string) (mfa.Integration, error) {
	defer s.lock(ctx)()
	in, ok := s.integrations[ikey]
	if !ok {
		return mfa.Integration{}, errNotFound
	}
	return in, nil
}

func (s *memStore) ListIntegrations(ctx context.Context, p mfa.Page) ([]mfa.Integration, int, error) {
	defer s.lock(ctx)()
	all := sortedValues(s.integrations, func(in mfa.Integration) time.Time { return in.Created }, func(in mfa.Integration) string { return in.IKey })
	got, total := page(all, p)
	return got, total, nil
}

func (s *memStore) UpdateIntegration(ctx context.Context, in mfa.Integration) error {
	defer s.lock(ctx)()
	old, ok := s.integrations[in.IKey]
	if !ok {
		return errNotFound
	}
	in.Created = old.Created
	s.integrations[in.IKey] = in
	return nil
}

func (s *memStore) DeleteIntegration(ctx context.Context, ikey string) error {
	defer s.lock(ctx)()
	if _, ok := s.integrations[ikey]; !ok {
		return errNotFound
	}
	delete(s.integrations, ikey)
	for id, lr := range s.logins {
		if lr.IKey == ikey {
			delete(s.logins, id)
		}
	}
	return nil
}

// Admins.

func (s *memStore) emailTaken(email, except string) bool {
	for _, a := range s.admins {
		if a.ID != except && strings.EqualFold(a.Email, email) {
			return true
		}
	}
	return false
}

func (s *memStore) CreateAdmin(ctx context.Context, a mfa.Admin) error {
	defer s.lock(ctx)()
	if _, ok := s.admins[a.ID]; ok || s.emailTaken(a.Email, a.ID) {
		return errConflict
	}
	s.admins[a.ID] = a
	return nil
}

func (s *memStore) GetAdmin(ctx context.Context, id string) (mfa.Admin, error) {
	defer s.lock(ctx)()
	a, ok := s.admins[id]
	if !ok {
		return mfa.Admin{}, errNotFound
	}
	return a, nil
}

func (s *memStore) GetAdminByEmail(ctx context.Context, email string) (mfa.Admin, error) {
	defer s.lock(ctx)()
	for _, a := range s.admins {
		if strings.EqualFold(a.Email, email) {
			return a, nil
		}
	}
	return mfa.Admin{}, errNotFound
}

func (s *memStore) ListAdmins(ctx context.Context, p mfa.Page) ([]mfa.Admin, int, error) {
	defer s.lock(ctx)()
	all := sortedValues(s.admins, func(a mfa.Admin) time.Time { return a.Created }, func(a mfa.Admin) string { return a.ID })
	got, total := page(all, p)
	return got, total, nil
}

func (s *memStore) UpdateAdmin(ctx context.Context, a mfa.Admin) error {
	defer s.lock(ctx)()
	old, ok := s.admins[a.ID]
	if !ok {
		return errNotFound
	}
	if s.emailTaken(a.Email, a.ID) {
		return errConflict
	}
	if activeOwner(old) && a.Role != mfa.RoleOwner && s.owners() == 1 {
		return &mfa.Error{Kind: mfa.Conflict, Field: "role", Msg: "the last Owner cannot be demoted"}
	}
	if activeOwner(old) && a.Role == mfa.RoleOwner && a.Disabled && s.owners() == 1 {
		return &mfa.Error{Kind: mfa.Conflict, Field: "status", Msg: "the last active Owner cannot be disabled"}
	}
	a.Created, a.FailedLogins, a.LockedAt = old.Created, old.FailedLogins, old.LockedAt
	s.admins[a.ID] = a
	return nil
}

func activeOwner(a mfa.Admin) bool { return a.Role == mfa.RoleOwner && !a.Disabled }

// owners counts the active Owners.
func (s *memStore) owners() int {
	n := 0
	for _, a := range s.admins {
		if activeOwner(a) {
			n++
		}
	}
	return n
}

func (s *memStore) DeleteAdmin(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	old, ok := s.admins[id]
	if !ok {
		return errNotFound
	}
	if activeOwner(old) && s.owners() == 1 {
		return &mfa.Error{Kind: mfa.Conflict, Field: "admin_id", Msg: "the last Owner cannot be deleted"}
	}
	delete(s.admins, id)
	delete(s.adminTOTP, id)
	for k, c := range s.adminKeys {
		if c.UserID == id {
			delete(s.adminKeys, k)
		}
	}
	return nil
}

func (s *memStore) CreateAdminWebAuthnCredential(ctx context.Context, c mfa.WebAuthnCredential) error {
	defer s.lock(ctx)()
	if len(c.CredentialID) == 0 || len(c.PublicKey) == 0 {
		return mfa.E(mfa.Invalid, "credential id and public key are required")
	}
	if _, ok := s.admins[c.UserID]; !ok {
		return errNotFound
	}
	if _, ok := s.adminKeys[c.ID]; ok {
		return errConflict
	}
	for _, o := range s.adminKeys {
		if string(o.CredentialID) == string(c.CredentialID) {
			return errConflict
		}
	}
	s.adminKeys[c.ID] = cloneWebAuthn(c)
	return nil
}

func (s *memStore) AdminWebAuthnCredentials(ctx context.Context, adminID string) ([]mfa.WebAuthnCredential, error) {
	defer s.lock(ctx)()
	var out []mfa.WebAuthnCredential
	for _, c := range sortedValues(s.adminKeys, func(c mfa.WebAuthnCredential) time.Time { return c.Created },
		func(c mfa.WebAuthnCredential) string { return c.ID }) {
		if c.UserID == adminID {
			out = append(out, cloneWebAuthn(c))
		}
	}
	return out, nil
}

func (s *memStore) DeleteAdminWebAuthnCredential(ctx context.Context, adminID, id string) error {
	defer s.lock(ctx)()
	if c, ok := s.adminKeys[id]; !ok || c.UserID != adminID {
		return errNotFound
	}
	delete(s.adminKeys, id)
	return nil
}

func (s *memStore) UseAdminWebAuthnCounter(ctx context.Context, adminID, id string, counter uint32, at time.Time) error {
	defer s.lock(ctx)()
	c, ok := s.adminKeys[id]
	if !ok || c.UserID != adminID {
		return errNotFound
	}
	if c.Cloned || !(c.SignCount < counter || (c.SignCount == 0 && counter == 0)) {
		c.Cloned = true
		s.adminKeys[id] = c
		return errConflict
	}
	c.SignCount, c.LastUsed = counter, at
	s.adminKeys[id] = c
	return nil
}

func (s *memStore) Bootstrap(ctx context.Context, owner mfa.Admin, ins []mfa.Integration) error {
	defer s.lock(ctx)()
	if len(s.admins) > 0 {
		return errConflict
	}
	for _, in := range ins {
		if _, ok := s.integrations[in.IKey]; ok {
			return errConflict
		}
	}
	s.admins[owner.ID] = owner
	for _, in := range ins {
		s.integrations[in.IKey] = in
	}
	return nil
}

func (s *memStore) CountAdminFailure(ctx context.Context, id string, threshold int, at time.Time) (mfa.Admin, error) {
	defer s.lock(ctx)()
	a, ok := s.admins[id]
	if !ok {
		return mfa.Admin{}, errNotFound
	}
	a.FailedLogins++
	if a.LockedAt.IsZero() && threshold > 0 && a.FailedLogins >= threshold {
		a.LockedAt = at
	}
	s.admins[id] = a
	return a, nil
}

func (s *memStore) ClearAdminFailures(ctx context.Context, id string, signedIn time.Time) error {
	defer s.lock(ctx)()
	a, ok := s.admins[id]
	if !ok {
		return errNotFound
	}
	a.FailedLogins, a.LockedAt = 0, time.Time{}
	if !signedIn.IsZero() {
		a.LastLogin = signedIn
	}
	s.admins[id] = a
	return nil
}

func (s *memStore) SetAdminTOTP(ctx context.Context, id string, secret mfa.Secret) error {
	defer s.lock(ctx)()
	if _, ok := s.admins[id]; !ok {
		return errNotFound
	}
	if s.adminTOTP[id].Confirmed {
		return errConflict
	}
	s.adminTOTP[id] = mfa.AdminTOTP{Secret: slices.Clone(secret)}
	return nil
}

func (s *memStore) GetAdminTOTP(ctx context.Context, id string) (mfa.AdminTOTP, error) {
	defer s.lock(ctx)()
	t, ok := s.adminTOTP[id]
	if !ok {
		return mfa.AdminTOTP{}, errNotFound
	}
	t.Secret = slices.Clone(t.Secret)
	return t, nil
}

func (s *memStore) UseAdminTOTPStep(ctx context.Context, id string, step int64) (bool, error) {
	defer s.lock(ctx)()
	t, ok := s.adminTOTP[id]
	if !ok || t.LastStep >= step {
		return false, nil
	}
	t.LastStep, t.Confirmed = step, true
	s.adminTOTP[id] = t
	return true, nil
}

// LockAdmin checks the administrator exists (Atomic holds s.mu).
func (s *memStore) LockAdmin(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.admins[id]; !ok {
		return errNotFound
	}
	return nil
}

func (s *memStore) DeleteAdminTOTP(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.admins[id]; !ok {
		return errNotFound
	}
	delete(s.adminTOTP, id)
	return nil
}

func (s *memStore) CountAdmins(ctx context.Context) (int, error) {
	defer s.lock(ctx)()
	return len(s.admins), nil
}

// Settings.

func (s *memStore) GetSettings(ctx context.Context) (mfa.Settings, error) {
	defer s.lock(ctx)()
	if s.settings == nil {
		return mfa.DefaultSettings(), nil
	}
	return *s.settings, nil
}

func (s *memStore) PutSettings(ctx context.Context, st mfa.Settings) error {
	defer s.lock(ctx)()
	s.settings = &st
	return nil
}

func (s *memStore) UpdateSettings(ctx context.Context, fn func(*mfa.Settings) error) (mfa.Settings, error) {
	defer s.lock(ctx)()
	st := mfa.DefaultSettings()
	if s.settings != nil {
		st = *s.settings
	}
	if err := fn(&st); err != nil {
		return mfa.Settings{}, err
	}
	s.settings = &st
	return st, nil
}

// Logs.

func inWindow(tm time.Time, id int64, f mfa.LogFilter) bool {
	after := id > f.AfterID
	if f.Descending && f.AfterID > 0 {
		after = id < f.AfterID
	}
	return !tm.Before(f.MinTime) && (f.MaxTime.IsZero() || !tm.After(f.MaxTime)) && after
}

// logPage orders the records in f's window by id (reversed when
// f.Descending) and keeps f.Limit of them.
func logPage[T any](all []T, key func(T) (time.Time, int64), f mfa.LogFilter) []T {
	id := func(e T) int64 { _, n := key(e); return n }
	var out []T
	for _, e := range all {
		if tm, n := key(e); inWindow(tm, n, f) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	if f.Descending {
		slices.Reverse(out)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

func (s *memStore) AppendAdminLog(ctx context.Context, e mfa.AdminLogEntry) (int64, error) {
	defer s.lock(ctx)()
	s.nextLogID++
	e.ID = s.nextLogID
	s.adminLog = append(s.adminLog, e)
	return e.ID, nil
}

func (s *memStore) ListAdminLog(ctx context.Context, f mfa.LogFilter) ([]mfa.AdminLogEntry, error) {
	defer s.lock(ctx)()
	return logPage(s.adminLog, func(e mfa.AdminLogEntry) (time.Time, int64) { return e.Time, e.ID }, f), nil
}

func (s *memStore) AppendTelephonyLog(ctx context.Context, e mfa.TelephonyLogEntry) (int64, error) {
	defer s.lock(ctx)()
	s.nextLogID++
	e.ID = s.nextLogID
	s.phoneLog = append(s.phoneLog, e)
	return e.ID, nil
}

func (s *memStore) ListTelephonyLog(ctx context.Context, f mfa.LogFilter) ([]mfa.TelephonyLogEntry, error) {
	defer s.lock(ctx)()
	return logPage(s.phoneLog, func(e mfa.TelephonyLogEntry) (time.Time, int64) { return e.Time, e.ID }, f), nil
}

func (s *memStore) SetTelephonyStatus(ctx context.Context, carrierID, status string) error {
	rank, err := mfa.CheckTelephonyStatus(carrierID, status)
	if err != nil {
		return err
	}
	defer s.lock(ctx)()
	found := false
	for i, e := range s.phoneLog {
		if e.CarrierID != carrierID {
			continue
		}
		found = true
		if cur, _ := mfa.TelephonyStatusRank(e.Status); cur < rank {
			s.phoneLog[i].Status = status
		}
	}
	if !found {
		return mfa.E(mfa.NotFound, "no telephony log record with this carrier id")
	}
	return nil
}

// Activations.

var errUnknownActivation = mfa.E(mfa.NotFound, "unknown activation code")

func (s *memStore) CreateActivation(ctx context.Context, a mfa.Activation) error {
	defer s.lock(ctx)()
	if a.Code == "" {
		return mfa.InvalidField("code", "no code")
	}
	if a.Expires.IsZero() {
		return mfa.InvalidField("expires", "never expires")
	}
	if _, ok := s.users[a.UserID]; !ok {
		return errNotFound
	}
	if _, ok := s.phones[a.PhoneID]; a.PhoneID != "" && !ok {
		return errNotFound
	}
	if _, ok := s.activations[a.ID]; ok {
		return errConflict
	}
	for _, old := range s.activations {
		if old.code == a.Code {
			return errConflict
		}
	}
	code := a.Code
	a.Code, a.Redeemed = "", time.Time{}
	a.Created, a.Expires = a.Created.Truncate(time.Microsecond), a.Expires.Truncate(time.Microsecond)
	s.activations[a.ID] = memActivation{Activation: a, code: code}
	return nil
}

func (s *memStore) GetActivation(ctx context.Context, id string) (mfa.Activation, error) {
	defer s.lock(ctx)()
	a, ok := s.activations[id]
	if !ok {
		return mfa.Activation{}, errNotFound
	}
	return a.Activation, nil
}

func (s *memStore) RedeemActivation(ctx context.Context, code mfa.Passcode, now time.Time) (mfa.Activation, error) {
	defer s.lock(ctx)()
	return s.redeem(code, now)
}

// redeem is RedeemActivation under s.mu.
func (s *memStore) redeem(code mfa.Passcode, now time.Time) (mfa.Activation, error) {
	now = now.Truncate(time.Microsecond)
	for id, a := range s.activations {
		if code != "" && a.code == code && a.Redeemed.IsZero() && a.Expires.After(now) {
			a.Redeemed = now
			s.activations[id] = a
			return a.Activation, nil
		}
	}
	return mfa.Activation{}, errUnknownActivation
}

func (s *memStore) DeleteExpiredActivations(ctx context.Context, now time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, a := range s.activations {
		if !a.Expires.After(now) || !a.Redeemed.IsZero() && !a.Redeemed.After(now) {
			delete(s.activations, id)
			n++
		}
	}
	return n, nil
}

func (s *memStore) ActivationByCode(ctx context.Context, code mfa.Passcode) (mfa.Activation, error) {
	defer s.lock(ctx)()
	for _, a := range s.activations {
		if code != "" && a.code == code {
			return a.Activation, nil
		}
	}
	return mfa.Activation{}, errUnknownActivation
}

func (s *memStore) CompleteActivation(ctx context.Context, code mfa.Passcode, now time.Time, newPhone mfa.Phone, auth mfa.Authenticator) (mfa.Activation, mfa.Authenticator, error) {
	defer s.lock(ctx)()
	// Check everything first, so that a failure writes nothing.
	var found *memActivation
	for _, a := range s.activations {
		if code != "" && a.code == code && a.Redeemed.IsZero() && a.Expires.After(now) {
			found = &a
			break
		}
	}
	if found == nil {
		return mfa.Activation{}, mfa.Authenticator{}, errUnknownActivation
	}
	phoneID := found.PhoneID
	if phoneID == "" {
		if newPhone.ID == "" {
			return mfa.Activation{}, mfa.Authenticator{}, mfa.InvalidField("phone_id", "no phone id")
		}
		if _, ok := s.phones[newPhone.ID]; ok {
			return mfa.Activation{}, mfa.Authenticator{}, errConflict
		}
		phoneID = newPhone.ID
	}
	if _, ok := s.auths[auth.ID]; ok {
		return mfa.Activation{}, mfa.Authenticator{}, errConflict
	}
	a, err := s.redeem(code, now)
	if err != nil {
		return mfa.Activation{}, mfa.Authenticator{}, err
	}
	for id, o := range s.activations { // the spare codes
		if id != a.ID && o.Redeemed.IsZero() && (a.PhoneID != "" && o.PhoneID == a.PhoneID || o.UserID == a.UserID && o.PhoneID == "") {
			delete(s.activations, id)
		}
	}
	if found.PhoneID == "" {
		newPhone.Activated, newPhone.PushMutedUntil = false, time.Time{}
		s.phones[newPhone.ID] = newPhone
		s.userPhones[[2]string{a.UserID, newPhone.ID}] = true
	}
	auth.PhoneID, auth.UserID = phoneID, a.UserID
	if err := s.activate(auth); err != nil {
		return mfa.Activation{}, mfa.Authenticator{}, err
	}
	return a, s.auths[auth.ID], nil
}

// Remembered devices.

var errUnknownTrusted = mfa.E(mfa.NotFound, "unknown remembered device")

func (s *memStore) CreateTrustedDevice(ctx context.Context, d mfa.TrustedDevice) error {
	defer s.lock(ctx)()
	if d.Token == "" {
		return mfa.InvalidField("token", "no token")
	}
	if d.Expires.IsZero() {
		return mfa.InvalidField("expires", "never expires")
	}
	if _, ok := s.users[d.UserID]; !ok {
		return errNotFound
	}
	if _, ok := s.trusted[d.ID]; ok {
		return errConflict
	}
	token := d.Token
	d.Token = ""
	d.Created, d.Expires = d.Created.Truncate(time.Microsecond), d.Expires.Truncate(time.Microsecond)
	s.trusted[d.ID] = memTrusted{TrustedDevice: d, token: token}
	return nil
}

func (s *memStore) CheckTrustedDevice(ctx context.Context, token mfa.Passcode, userID, ikey string, now time.Time) (mfa.TrustedDevice, error) {
	defer s.lock(ctx)()
	for _, d := range s.trusted {
		if token != "" && d.token == token && d.UserID == userID && d.IKey == ikey && d.Expires.After(now) {
			return d.TrustedDevice, nil
		}
	}
	return mfa.TrustedDevice{}, errUnknownTrusted
}

func (s *memStore) DeleteTrustedDevices(ctx context.Context, userID string) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, d := range s.trusted {
		if d.UserID == userID {
			delete(s.trusted, id)
			n++
		}
	}
	return n, nil
}

func (s *memStore) DeleteExpiredTrustedDevices(ctx context.Context, now time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, d := range s.trusted {
		if !d.Expires.After(now) {
			delete(s.trusted, id)
			n++
		}
	}
	return n, nil
}

// Rate limits.

func (s *memStore) HitRateLimit(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (mfa.RateLimitResult, error) {
	if err := mfa.CheckRateLimitArgs(key, limit, window); err != nil {
		return mfa.RateLimitResult{}, err
	}
	defer s.lock(ctx)()
	key = mfa.RateLimitKey(key)
	now = now.Truncate(time.Microsecond)
	c, ok := s.rateLimits[key]
	if ok && c.end.After(now) {
		c.count++
	} else {
		c = memRateLimit{start: now, end: now.Add(window).Truncate(time.Microsecond), count: 1}
	}
	s.rateLimits[key] = c
	r := mfa.RateLimitResult{Allowed: c.count <= limit, Count: c.count}
	if !r.Allowed {
		r.RetryAfter = c.end.Sub(now)
	}
	return r, nil
}

func (s *memStore) DeleteExpiredRateLimits(ctx context.Context, now time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for key, c := range s.rateLimits {
		if !c.end.After(now) {
			delete(s.rateLimits, key)
			n++
		}
	}
	return n, nil
}

// Used signatures.

func (s *memStore) ClaimSignature(_ context.Context, key string, now, expires time.Time) error {
	now, expires = now.Truncate(time.Microsecond), expires.Truncate(time.Microsecond)
	if err := mfa.CheckClaimArgs(key, now, expires); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.signatures[key]; ok && e.After(now) {
		return &mfa.Error{Kind: mfa.Conflict, Field: "signature", Msg: "request already used"}
	}
	s.signatures[key] = expires
	return nil
}

func (s *memStore) ReleaseSignature(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.signatures, key)
	return nil
}

func (s *memStore) DeleteExpiredSignatures(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for key, e := range s.signatures {
		if !e.After(now) {
			delete(s.signatures, key)
			n++
		}
	}
	return n, nil
}

// Browser sessions.

func (s *memStore) CreateSession(ctx context.Context, se mfa.Session) error {
	se.Created, se.Expires = se.Created.Truncate(time.Microsecond), se.Expires.Truncate(time.Microsecond)
	if err := mfa.CheckSessionArgs(se.Key, se.Data, se.Expires, se.Created); err != nil {
		return err
	}
	defer s.lock(ctx)()
	if _, ok := s.sessions[se.Key]; ok {
		return errConflict
	}
	se.Data = append([]byte{}, se.Data...)
	s.sessions[se.Key] = se
	return nil
}

func (s *memStore) GetSession(ctx context.Context, key string, now time.Time) (mfa.Session, error) {
	defer s.lock(ctx)()
	se, ok := s.sessions[key]
	if !ok || !se.Expires.After(now) {
		return mfa.Session{}, errNotFound
	}
	se.Data = append([]byte{}, se.Data...)
	return se, nil
}

func (s *memStore) UpdateSession(ctx context.Context, key string, data []byte, expires, now time.Time) error {
	expires = expires.Truncate(time.Microsecond)
	if err := mfa.CheckSessionArgs(key, data, expires, now); err != nil {
		return err
	}
	defer s.lock(ctx)()
	se, ok := s.sessions[key]
	if !ok || !se.Expires.After(now) {
		return errNotFound
	}
	se.Data, se.Expires = append([]byte{}, data...), expires
	s.sessions[key] = se
	return nil
}

func (s *memStore) DeleteSession(ctx context.Context, key string) error {
	defer s.lock(ctx)()
	delete(s.sessions, key)
	return nil
}

func (s *memStore) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for key, se := range s.sessions {
		if !se.Expires.After(now) {
			delete(s.sessions, key)
			n++
		}
	}
	return n, nil
}

// Revoked installs.

func (s *memStore) RevokedAuthenticators(ctx context.Context, userID string, limit int) ([]mfa.Authenticator, error) {
	defer s.lock(ctx)()
	var out []mfa.Authenticator
	for _, a := range s.auths {
		if a.Status == mfa.AuthenticatorRevoked && userID != "" &&
			(a.UserID == userID || s.userPhones[[2]string{userID, a.PhoneID}]) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b mfa.Authenticator) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Events.

// memEvents is the in-process event hub: topic -> subscriber channels.
type memEvents struct {
	mu     sync.Mutex
	topics map[string]map[*chan struct{}]bool
}

func (s *memStore) Subscribe(topic string) (<-chan struct{}, func()) {
	e := &s.events
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	if e.topics[topic] == nil {
		e.topics[topic] = map[*chan struct{}]bool{}
	}
	e.topics[topic][&ch] = true
	e.mu.Unlock()
	return ch, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.topics[topic], &ch)
		if len(e.topics[topic]) == 0 {
			delete(e.topics, topic)
		}
	}
}

func (s *memStore) Publish(ctx context.Context, topic string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.events.publish(topic)
	return nil
}

func (e *memEvents) publish(topics ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, topic := range topics {
		for ch := range e.topics[topic] {
			select {
			case *ch <- struct{}{}:
			default:
			}
		}
	}
}

// Login requests.

func (s *memStore) CreateLoginRequest(ctx context.Context, r mfa.LoginRequest) error {
	if err := mfa.CheckNewLoginRequest(r); err != nil {
		return err
	}
	defer s.lock(ctx)()
	if _, ok := s.integrations[r.IKey]; !ok {
		return errNotFound
	}
	if _, ok := s.logins[r.ID]; ok {
		return errConflict
	}
	s.logins[r.ID] = r
	return nil
}

func (s *memStore) GetLoginRequest(ctx context.Context, id string) (mfa.LoginRequest, error) {
	defer s.lock(ctx)()
	r, ok := s.logins[id]
	if !ok {
		return mfa.LoginRequest{}, errNotFound
	}
	return r, nil
}

func (s *memStore) CompleteLoginRequest(ctx context.Context, id string, out mfa.LoginOutcome) (mfa.LoginRequest, error) {
	if err := mfa.CheckLoginOutcome(out); err != nil {
		return mfa.LoginRequest{}, err
	}
	defer s.lock(ctx)()
	r, ok := s.logins[id]
	switch {
	case !ok:
		return mfa.LoginRequest{}, errNotFound
	case r.Completed() || r.Expired(out.AuthTime):
		return mfa.LoginRequest{}, errConflict
	}
	r.Result, r.AuthTxID, r.Factor, r.AuthTime = out.Result, out.AuthTxID, out.Factor, out.AuthTime
	s.logins[id] = r
	return r, nil
}

func (s *memStore) IssueLoginCode(ctx context.Context, id, codeHash string, now, expires time.Time) error {
	if err := mfa.CheckLoginCode(codeHash, now, expires); err != nil {
		return err
	}
	defer s.lock(ctx)()
	r, ok := s.logins[id]
	if !ok {
		return errNotFound
	}
	if r.Result != mfa.LoginAllow || r.CodeHash != "" || r.Expired(now) {
		return errConflict
	}
	for _, o := range s.logins {
		if o.CodeHash == codeHash {
			return errConflict
		}
	}
	r.CodeHash, r.CodeExpires = codeHash, expires
	s.logins[id] = r
	return nil
}

func (s *memStore) RedeemLoginCode(ctx context.Context, q mfa.LoginCodeRedemption) (mfa.LoginRequest, error) {
	if q.Now.IsZero() {
		return mfa.LoginRequest{}, mfa.InvalidField("now", "required")
	}
	defer s.lock(ctx)()
	for id, r := range s.logins {
		if q.CodeHash == "" || r.CodeHash != q.CodeHash {
			continue
		}
		if !r.CodeUsed.IsZero() || !r.CodeExpires.After(q.Now) || r.IKey != q.IKey || r.RedirectURI != q.RedirectURI ||
			r.Result != mfa.LoginAllow {
			break
		}
		r.CodeUsed = q.Now
		s.logins[id] = r
		return r, nil
	}
	return mfa.LoginRequest{}, errNotFound
}

func (s *memStore) DeleteExpiredLoginRequests(ctx context.Context, now time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, r := range s.logins {
		if r.Expired(now) && (r.CodeExpires.IsZero() || !r.CodeExpires.After(now)) {
			delete(s.logins, id)
			n++
		}
	}
	return n, nil
}

func (s *memStore) SetLoginUser(ctx context.Context, id string, u mfa.LoginUser, now time.Time) (mfa.LoginRequest, error) {
	if err := mfa.CheckLoginUser(u); err != nil {
		return mfa.LoginRequest{}, err
	}
	defer s.lock(ctx)()
	r, ok := s.logins[id]
	switch {
	case !ok:
		return mfa.LoginRequest{}, errNotFound
	case r.Username != "" || r.Completed() || r.Expired(now):
		return mfa.LoginRequest{}, errConflict
	}
	r.UserID, r.Username, r.FirstFactor = u.UserID, u.Username, u.FirstFactor
	s.logins[id] = r
	return r, nil
}

// Passwords.

func (s *memStore) SetUserPassword(ctx context.Context, userID, hash string, at time.Time) error {
	if err := mfa.CheckPasswordHash(hash); err != nil {
		return err
	}
	defer s.lock(ctx)()
	if _, ok := s.users[userID]; !ok {
		return errNotFound
	}
	s.passwords[userID] = mfa.UserPassword{UserID: userID, Hash: hash, Set: at}
	return nil
}

func (s *memStore) GetUserPassword(ctx context.Context, userID string) (mfa.UserPassword, error) {
	defer s.lock(ctx)()
	p, ok := s.passwords[userID]
	if !ok {
		return mfa.UserPassword{}, errNotFound
	}
	return p, nil
}

func (s *memStore) DeleteUserPassword(ctx context.Context, userID string) error {
	defer s.lock(ctx)()
	if _, ok := s.passwords[userID]; !ok {
		return errNotFound
	}
	delete(s.passwords, userID)
	return nil
}

// Signing keys.

func (s *memStore) CreateSigningKey(ctx context.Context, k mfa.SigningKey) error {
	if err := mfa.CheckSigningKey(k); err != nil {
		return err
	}
	defer s.lock(ctx)()
	if _, ok := s.signingKeys[k.ID]; ok {
		return errConflict
	}
	k.Private = slices.Clone(k.Private)
	s.signingKeys[k.ID] = k
	return nil
}

func (s *memStore) ListSigningKeys(ctx context.Context, now time.Time) ([]mfa.SigningKey, error) {
	defer s.lock(ctx)()
	var out []mfa.SigningKey
	for _, k := range s.signingKeys {
		if k.Expires.After(now) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b mfa.SigningKey) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}

func (s *memStore) RetireSigningKeys(ctx context.Context, created, now time.Time, overlap time.Duration) (int, error) {
	defer s.lock(ctx)()
	n := 0
	until := now.Add(overlap)
	for id, k := range s.signingKeys {
		if k.Created.Before(created) && k.NotAfter.After(now) {
			k.NotAfter = now
			if k.Expires.After(until) {
				k.Expires = until
			}
			s.signingKeys[id] = k
			n++
		}
	}
	return n, nil
}

func (s *memStore) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	defer s.lock(ctx)()
	n := 0
	for id, k := range s.signingKeys {
		if !k.Expires.After(now) {
			delete(s.signingKeys, id)
			n++
		}
	}
	return n, nil
}

func (s *memStore) CreateAdminActivation(ctx context.Context, a mfa.AdminActivation) error {
	defer s.lock(ctx)()
	if a.Code == "" || a.Expires.IsZero() {
		return mfa.E(mfa.Invalid, "an activation needs a code and an expiry")
	}
	if _, ok := s.adminActs[a.ID]; ok {
		return errConflict
	}
	for _, o := range s.adminActs {
		if o.Code == a.Code {
			return errConflict
		}
	}
	s.adminActs[a.ID] = a
	return nil
}

func (s *memStore) ListAdminActivations(ctx context.Context, now time.Time, p mfa.Page) ([]mfa.AdminActivation, int, error) {
	defer s.lock(ctx)()
	var out []mfa.AdminActivation
	for _, a := range s.adminActs {
		if a.Expires.After(now) {
			a.Code = ""
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y mfa.AdminActivation) int {
		if c := x.Created.Compare(y.Created); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	items, total := page(out, p)
	return items, total, nil
}

func (s *memStore) AdminActivationByCode(ctx context.Context, code mfa.Passcode, now time.Time) (mfa.AdminActivation, error) {
	defer s.lock(ctx)()
	for _, a := range s.adminActs {
		if code != "" && a.Code == code && a.Expires.After(now) {
			a.Code = ""
			return a, nil
		}
	}
	return mfa.AdminActivation{}, errNotFound
}

func (s *memStore) DeleteAdminActivation(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.adminActs[id]; !ok {
		return errNotFound
	}
	delete(s.adminActs, id)
	return nil
}

func (s *memStore) RedeemAdminActivation(ctx context.Context, code mfa.Passcode, now time.Time, ad mfa.Admin) (mfa.Admin, error) {
	defer s.lock(ctx)()
	for id, a := range s.adminActs {
		if code == "" || a.Code != code || !a.Expires.After(now) {
			continue
		}
		ad.Email, ad.Role = a.Email, a.Role
		if _, ok := s.admins[ad.ID]; ok || s.emailTaken(ad.Email, ad.ID) {
			return mfa.Admin{}, errConflict
		}
		delete(s.adminActs, id)
		s.admins[ad.ID] = ad
		return ad, nil
	}
	return mfa.Admin{}, errNotFound
}

// Identity answers: keyed hashes under the store's token key, replaced
// whole (never changed in place), so the snapshot's shallow clone is a copy.

type memIdentity struct {
	pin, dobID       []byte
	pinSet, dobIDSet time.Time
}

func (s *memStore) identityHash(userID string, c mfa.IdentityCheck, answer mfa.Passcode) []byte {
	m := hmac.New(sha256.New, s.tokenKey[:])
	m.Write([]byte("identity_" + string(c) + "\x00" + userID + "\x00" + string(answer)))
	return m.Sum(nil)
}

func (s *memStore) SetUserIdentity(ctx context.Context, userID string, c mfa.IdentityCheck, answer mfa.Passcode, at time.Time) error {
	if !c.Valid() {
		return mfa.InvalidField("identity_check", "must be pin or dob_id")
	}
	defer s.lock(ctx)()
	if _, ok := s.users[userID]; !ok {
		return errNotFound
	}
	id := s.identity[userID]
	var h []byte
	var set time.Time
	if answer != "" {
		h, set = s.identityHash(userID, c, answer), at
	}
	if c == mfa.IdentityPIN {
		id.pin, id.pinSet = h, set
	} else {
		id.dobID, id.dobIDSet = h, set
	}
	s.identity[userID] = id
	return nil
}

func (s *memStore) UserIdentity(ctx context.Context, userID string) (mfa.IdentityStatus, error) {
	defer s.lock(ctx)()
	if _, ok := s.users[userID]; !ok {
		return mfa.IdentityStatus{}, errNotFound
	}
	id := s.identity[userID]
	return mfa.IdentityStatus{PINSet: id.pinSet, DOBIDSet: id.dobIDSet}, nil
}

func (s *memStore) CheckUserIdentity(ctx context.Context, userID string, c mfa.IdentityCheck, answer mfa.Passcode) (bool, error) {
	if !c.Valid() {
		return false, mfa.InvalidField("identity_check", "must be pin or dob_id")
	}
	defer s.lock(ctx)()
	id := s.identity[userID]
	stored := id.pin
	if c == mfa.IdentityDOBID {
		stored = id.dobID
	}
	if len(stored) == 0 || answer == "" {
		return false, nil
	}
	return hmac.Equal(stored, s.identityHash(userID, c, answer)), nil
}

// WebAuthn credentials.

func cloneWebAuthn(c mfa.WebAuthnCredential) mfa.WebAuthnCredential {
	c.CredentialID, c.PublicKey, c.AAGUID = slices.Clone(c.CredentialID), slices.Clone(c.PublicKey), slices.Clone(c.AAGUID)
	c.Transports = slices.Clone(c.Transports)
	return c
}

func (s *memStore) CreateWebAuthnCredential(ctx context.Context, c mfa.WebAuthnCredential) error {
	defer s.lock(ctx)()
	if len(c.CredentialID) == 0 || len(c.PublicKey) == 0 {
		return mfa.E(mfa.Invalid, "credential id and public key are required")
	}
	if _, ok := s.users[c.UserID]; !ok {
		return errNotFound
	}
	if _, ok := s.webauthn[c.ID]; ok {
		return errConflict
	}
	for _, o := range s.webauthn {
		if string(o.CredentialID) == string(c.CredentialID) {
			return errConflict
		}
	}
	s.webauthn[c.ID] = cloneWebAuthn(c)
	return nil
}

func (s *memStore) GetWebAuthnCredential(ctx context.Context, id string) (mfa.WebAuthnCredential, error) {
	defer s.lock(ctx)()
	c, ok := s.webauthn[id]
	if !ok {
		return mfa.WebAuthnCredential{}, errNotFound
	}
	return cloneWebAuthn(c), nil
}

func (s *memStore) WebAuthnCredentialByCredentialID(ctx context.Context, credentialID []byte) (mfa.WebAuthnCredential, error) {
	defer s.lock(ctx)()
	for _, c := range s.webauthn {
		if len(credentialID) > 0 && string(c.CredentialID) == string(credentialID) {
			return cloneWebAuthn(c), nil
		}
	}
	return mfa.WebAuthnCredential{}, errNotFound
}

func (s *memStore) sortedWebAuthn(userID string) []mfa.WebAuthnCredential {
	var out []mfa.WebAuthnCredential
	for _, c := range sortedValues(s.webauthn, func(c mfa.WebAuthnCredential) time.Time { return c.Created },
		func(c mfa.WebAuthnCredential) string { return c.ID }) {
		if userID == "" || c.UserID == userID {
			out = append(out, cloneWebAuthn(c))
		}
	}
	return out
}

func (s *memStore) ListWebAuthnCredentials(ctx context.Context, f mfa.WebAuthnFilter) ([]mfa.WebAuthnCredential, int, error) {
	defer s.lock(ctx)()
	out, total := page(s.sortedWebAuthn(f.UserID), f.Page)
	return out, total, nil
}

func (s *memStore) UserWebAuthnCredentials(ctx context.Context, userID string) ([]mfa.WebAuthnCredential, error) {
	defer s.lock(ctx)()
	if userID == "" {
		return nil, nil
	}
	return s.sortedWebAuthn(userID), nil
}

func (s *memStore) RenameWebAuthnCredential(ctx context.Context, id, name string) error {
	defer s.lock(ctx)()
	c, ok := s.webauthn[id]
	if !ok {
		return errNotFound
	}
	c.Name = name
	s.webauthn[id] = c
	return nil
}

func (s *memStore) DeleteWebAuthnCredential(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	if _, ok := s.webauthn[id]; !ok {
		return errNotFound
	}
	delete(s.webauthn, id)
	return nil
}

func (s *memStore) MarkWebAuthnCloned(ctx context.Context, id string) error {
	defer s.lock(ctx)()
	c, ok := s.webauthn[id]
	if !ok {
		return errNotFound
	}
	c.Cloned = true
	s.webauthn[id] = c
	return nil
}
