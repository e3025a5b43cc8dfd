package authflow

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/password"
	"github.com/twostep-auth/twostep/internal/ratelimit"
)

// The first factor (docs/first-factor.md): when twostep is the whole
// login (its OIDC provider, later the portal and the console), it checks
// the password itself, against a twostep password (argon2id) or by
// binding to the LDAP / Active Directory directory, before the prompt
// runs the second factor.

// Surface is where a person logs in; each has its own first-factor
// sources (config first_factor.<surface>).
type Surface string

// Surfaces.
const (
	SurfaceOIDC    Surface = "oidc"
	SurfacePortal  Surface = "portal"
	SurfaceConsole Surface = "console"
	SurfaceRADIUS  Surface = "radius" // a RADIUS client with first_factor = "local"
)

// Sources of a first factor, in first_factor.<surface> lists.
const (
	SourcePassword  = mfa.FirstFactorPassword  // "password"
	SourceDirectory = mfa.FirstFactorDirectory // "ldap"
)

// Messages of the first factor. An unknown user and a wrong password get
// the same one.
const (
	MsgBadPassword    = "That username and password do not match. Check them and try again."
	MsgDirectoryDown  = "Passwords cannot be checked right now because the directory is not answering. Nothing was accepted. Try again in a few minutes."
	MsgNotInTwostep   = "Your password is right, but your account is not set up in twostep yet. Ask your administrator to add you."
	MsgPasswordLocked = "Your account is locked because of too many failed attempts."
	msgPwIPLimited    = "too many password attempts from this address"
	msgPwUserLimited  = "too many password attempts for this user"
)

// ReasonInvalidPassword is the auth log reason of a wrong first-factor
// password (factor first_factor); ReasonFirstFactorUnavailable that of a
// directory that could not be asked.
const (
	ReasonInvalidPassword        = "invalid_password"
	ReasonFirstFactorUnavailable = "first_factor_unavailable"
)

// Default first-factor attempt limits: in memory per node (burst, then
// one per Every), and durable across nodes.
var (
	DefaultPasswordUserLimit        = Limit{Burst: 10, Every: 6 * time.Second}
	DefaultPasswordIPLimit          = Limit{Burst: 50, Every: 200 * time.Millisecond}
	DefaultDurablePasswordUserLimit = DurableLimit{Limit: 30, Window: time.Minute}
	DefaultDurablePasswordIPLimit   = DurableLimit{Limit: 300, Window: time.Minute}
)

// firstFactor is the Service's first-factor configuration.
type firstFactor struct {
	dir       mfa.Directory
	sources   map[Surface][]string
	hasher    password.Hasher
	hashes    password.Limiter
	dummy     string // a hash of nothing anyone types, checked for unknown users
	byUser    *limiter
	byIP      *limiter
	durUser   DurableLimit
	durIP     DurableLimit
	minLength int
}

// FirstFactorOptions configure the first factor (WithFirstFactor).
type FirstFactorOptions struct {
	// Directory checks passwords by LDAP bind; nil: no directory.
	Directory mfa.Directory
	// Sources lists, per surface, the sources it accepts in order of
	// preference (SourcePassword, SourceDirectory). A surface left out
	// accepts twostep passwords only.
	Sources map[Surface][]string
	// Hasher is the cost of new user passwords (password.UserDefault
	// when zero).
	Hasher password.Hasher
	// MaxHashes bounds concurrent password hashes (2 per CPU when 0).
	MaxHashes int
	// UserLimit, IPLimit: in-memory attempt limits (defaults when zero;
	// set Burst -1 to turn one off). DurableUser, DurableIP: the
	// cross-node ceilings (defaults when zero; Limit -1 turns one off).
	UserLimit, IPLimit     Limit
	DurableUser, DurableIP DurableLimit
}

// WithFirstFactor configures the first factor. Without it, twostep
// passwords are the only source, at the default cost and limits.
func WithFirstFactor(o FirstFactorOptions) Option {
	return func(s *Service) { s.ff = newFirstFactor(o, s.now) }
}

func newFirstFactor(o FirstFactorOptions, now func() time.Time) *firstFactor {
	ff := &firstFactor{dir: o.Directory, sources: o.Sources, hasher: o.Hasher}
	if ff.hasher == (password.Hasher{}) {
		ff.hasher = password.UserDefault()
	}
	n := o.MaxHashes
	if n <= 0 {
		n = 2 * runtime.NumCPU()
	}
	ff.hashes = password.NewLimiter(n)
	// The dummy hash has the cost of a real one, so that an unknown user
	// takes as long as a wrong password.
	ff.dummy, _ = ff.hasher.Hash("twostep dummy password", rand.Reader)
	pick := func(l, def Limit) Limit {
		if l == (Limit{}) {
			return def
		}
		return l
	}
	pickD := func(l, def DurableLimit) DurableLimit {
		if l == (DurableLimit{}) {
			return def
		}
		return l
	}
	ff.byUser = newLimiter(pick(o.UserLimit, DefaultPasswordUserLimit), now)
	ff.byIP = newLimiter(pick(o.IPLimit, DefaultPasswordIPLimit), now)
	ff.durUser = pickD(o.DurableUser, DefaultDurablePasswordUserLimit)
	ff.durIP = pickD(o.DurableIP, DefaultDurablePasswordIPLimit)
	return ff
}

// PasswordHasher is the cost of new user passwords (for the admin
// service and the CLI, which hash what administrators set).
func (s *Service) PasswordHasher() password.Hasher { return s.firstFactor().hasher }

func (s *Service) firstFactor() *firstFactor {
	s.ffOnce.Do(func() {
		if s.ff == nil {
			s.ff = newFirstFactor(FirstFactorOptions{}, s.now)
		}
	})
	return s.ff
}

// PasswordRequest is one first-factor attempt.
type PasswordRequest struct {
	Surface     Surface
	Integration mfa.Integration // the application (the OIDC client), for the auth log
	Username    string
	Password    mfa.Passcode
	IP          string
	Hostname    string
}

// FirstFactorResult is who passed the first factor, and how.
type FirstFactorResult struct {
	User   mfa.User
	Source string // SourcePassword or SourceDirectory
	// Directory is what the directory said about the user (Source
	// SourceDirectory).
	Directory mfa.DirectoryUser
}

// source is the decision of which first factor a username uses.
type source struct {
	kind string // SourcePassword, SourceDirectory, or "" (nobody: fail like a wrong password)
	hash string // the twostep password hash (SourcePassword)
}

// chooseSource is the one place that decides which first factor a
// username uses on a surface: the surface's sources in order, the first
// that applies to the user: a twostep password applies when the user
// exists in twostep and has one; the directory applies whenever one is
// configured (it knows its own users). When none applies, the attempt
// fails exactly like a wrong password (after a dummy hash).
func (s *Service) chooseSource(ctx context.Context, surface Surface, a account) (source, error) {
	ff := s.firstFactor()
	srcs, ok := ff.sources[surface]
	if !ok {
		srcs = []string{SourcePassword}
	}
	for _, src := range srcs {
		switch src {
		case SourcePassword:
			if !a.known {
				continue
			}
			pw, err := s.store.GetUserPassword(ctx, a.user.ID)
			if errors.Is(err, mfa.ErrNotFound) {
				continue
			}
			if err != nil {
				return source{}, fmt.Errorf("get user password: %w", err)
			}
			return source{kind: SourcePassword, hash: pw.Hash}, nil
		case SourceDirectory:
			if ff.dir != nil {
				return source{kind: SourceDirectory}, nil
			}
		}
	}
	return source{}, nil
}

// CheckPassword checks a first factor: the username's password against
// its source (chooseSource). It answers:
//   - the user and the source that accepted the password;
//   - Unauthorized MsgBadPassword for an unknown user and a wrong password
//     alike, in about the same time (an unknown user costs a dummy hash;
//     the directory does a dummy bind), with an auth log record (factor
//     first_factor, failure) and, for a twostep user, one failure counted
//     in the same atomic lockout as second-factor failures;
//   - Denied (the locked-out or disabled message) for a right password
//     of a locked-out or disabled user;
//   - Unavailable MsgDirectoryDown when the directory cannot be asked:
//     never an acceptance, and no failure counted;
//   - Denied MsgNotInTwostep when the directory accepted a user twostep
//     does not know;
//   - RateLimited when the address or the username made too many
//     attempts (in memory per node, then durably across nodes), before
//     any work;
//   - Invalid for an empty username or password, or one too long.
//
// Hashing and directory binds happen outside any store transaction.
func (s *Service) CheckPassword(ctx context.Context, req PasswordRequest) (FirstFactorResult, error) {
	ff := s.firstFactor()
	name := strings.TrimSpace(req.Username)
	switch {
	case name == "":
		return FirstFactorResult{}, mfa.InvalidField("username", "Enter your username.")
	case len(name) > 255:
		return FirstFactorResult{}, mfa.InvalidField("username", "A username is at most 255 characters.")
	case req.Password == "":
		return FirstFactorResult{}, mfa.InvalidField("password", "Enter your password.")
	case len(req.Password) > mfa.MaxPasswordLen:
		return FirstFactorResult{}, mfa.InvalidField("password", fmt.Sprintf("A password is at most %d bytes.", mfa.MaxPasswordLen))
	}
	addr := ratelimit.AddressKey(req.IP)
	userKey := strings.ToLower(name)
	if ok, wait := ff.byIP.Take(addr); !ok {
		return FirstFactorResult{}, mfa.RetryLater(msgPwIPLimited, wait)
	}
	if ok, wait := ff.byUser.Take(userKey); !ok {
		return FirstFactorResult{}, mfa.RetryLater(msgPwUserLimited, wait)
	}
	if addr != "" {
		if err := s.hitDurable(ctx, ff.durIP, "pw-ip:"+addr, msgPwIPLimited, "remote_ip", req.IP); err != nil {
			return FirstFactorResult{}, err
		}
	}
	if err := s.hitDurable(ctx, ff.durUser, "pw-user:"+userKey, msgPwUserLimited, "username", name); err != nil {
		return FirstFactorResult{}, err
	}

	a, err := s.loadUser(ctx, name)
	if err != nil {
		return FirstFactorResult{}, fmt.Errorf("check password: %w", err)
	}
	src, err := s.chooseSource(ctx, req.Surface, a)
	if err != nil {
		return FirstFactorResult{}, fmt.Errorf("check password: %w", err)
	}
	areq := AuthRequest{Integration: req.Integration, Who: Who{Username: name}, IP: req.IP, Hostname: req.Hostname}
	d := &decision{s: s, req: areq, a: a, factor: LogFactorFirstFactor}
	res := FirstFactorResult{User: a.user, Source: src.kind}

	ok := false
	switch src.kind {
	case SourcePassword, "":
		hash := src.hash
		if hash == "" {
			hash = ff.dummy
		}
		var verr error
		if err := ff.hashes.Do(ctx, func() { ok, verr = password.Verify(string(req.Password), hash) }); err != nil {
			return FirstFactorResult{}, err
		}
		if verr != nil {
			s.log.ErrorContext(ctx, "stored password hash unreadable", "user_id", a.user.ID, "error", verr)
			ok = false
		}
		ok = ok && src.kind == SourcePassword
	case SourceDirectory:
		du, err := ff.dir.Authenticate(ctx, name, string(req.Password))
		switch {
		case err == nil:
			ok, res.Directory = true, du
		case errors.Is(err, mfa.ErrBadCredentials), errors.Is(err, mfa.ErrUnauthorized):
		case errors.Is(err, mfa.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded):
			if _, werr := d.write(ctx, mfa.AuthWrite{}, mfa.ResultError, ReasonFirstFactorUnavailable); werr != nil {
				return FirstFactorResult{}, werr
			}
			s.log.WarnContext(ctx, "directory unavailable", "error", err)
			return FirstFactorResult{}, mfa.Wrap(mfa.Unavailable, MsgDirectoryDown, err)
		default:
			return FirstFactorResult{}, fmt.Errorf("check password: %w", err)
		}
	}
	if !ok {
		w := mfa.AuthWrite{}
		if a.known {
			w = mfa.AuthWrite{CountFailure: true, Threshold: a.settings.LockoutThreshold}
		}
		out, err := d.write(ctx, w, mfa.ResultFailure, ReasonInvalidPassword)
		if err != nil {
			return FirstFactorResult{}, err
		}
		if out.Failure.LockedOut {
			s.noticeLockout(ctx, d, out.Failure.FailedAttempts)
		}
		return FirstFactorResult{}, mfa.E(mfa.Unauthorized, MsgBadPassword)
	}
	if !a.known {
		// Only the directory can accept a user twostep does not know.
		if _, err := d.write(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonNotEnrolled); err != nil {
			return FirstFactorResult{}, err
		}
		return FirstFactorResult{}, mfa.E(mfa.Denied, MsgNotInTwostep)
	}
	switch a.user.Status {
	case mfa.StatusLockedOut:
		w := mfa.AuthWrite{CountFailure: true, Threshold: a.settings.LockoutThreshold}
		if _, err := d.write(ctx, w, mfa.ResultDenied, ReasonLockedOut); err != nil {
			return FirstFactorResult{}, err
		}
		return FirstFactorResult{}, mfa.E(mfa.Denied, MsgPasswordLocked)
	case mfa.StatusDisabled:
		if _, err := d.write(ctx, mfa.AuthWrite{}, mfa.ResultDenied, ReasonUserDisabled); err != nil {
			return FirstFactorResult{}, err
		}
		return FirstFactorResult{}, mfa.E(mfa.Denied, MsgDisabled)
	}
	// A right password is not a login: nothing is reset or logged until
	// the second factor decides.
	return res, nil
}

// loadUser is load without the devices: the first factor needs only the
// user and the settings, and reading no more for a known user than for an
// unknown one keeps the two equally fast (the devices are read when the
// prompt runs).
func (s *Service) loadUser(ctx context.Context, name string) (account, error) {
	var a account
	st, err := s.store.GetSettings(ctx)
	if err != nil {
		return a, fmt.Errorf("get settings: %w", err)
	}
	a.settings = st
	a.user, err = s.store.GetUserByName(ctx, name)
	if errors.Is(err, mfa.ErrNotFound) {
		return a, nil
	}
	if err != nil {
		return a, fmt.Errorf("get user: %w", err)
	}
	a.known = true
	if a.user.Status == mfa.StatusLockedOut && st.LockoutExpire > 0 && !a.user.LockedAt.IsZero() &&
		!a.user.LockedAt.Add(st.LockoutExpire).After(s.now()) {
		if _, err := s.store.UnlockExpired(ctx, s.now().Add(-st.LockoutExpire)); err != nil {
			return a, fmt.Errorf("unlock expired: %w", err)
		}
		if a.user, err = s.store.GetUser(ctx, a.user.ID); err != nil {
			return a, fmt.Errorf("get user: %w", err)
		}
	}
	return a, nil
}
