package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// SignatureClaimer records the signatures of accepted state-changing
// requests (mfa.ReplayStore without the reaper).
type SignatureClaimer interface {
	ClaimSignature(ctx context.Context, key string, now, expires time.Time) error
	ReleaseSignature(ctx context.Context, key string) error
}

// ErrReplayed answers a signed request whose signature was already used:
// 403 with Duo's 40301 code and the reason in message_detail. Not 401: duo_unix
// (2.0.4+, which signs with a date) applies its failmode to a 401, and its
// default failmode "safe" lets the login through. Two logins of one user
// from one host in the same second sign the same /auth/v2/auth request, so
// a 401 here would let the second of two simultaneous SSH logins skip the
// second factor. duo_unix aborts the login on any other 4xx, which is the
// answer a replay deserves.
var ErrReplayed = &duoproto.Error{Status: 403, Code: 40301, Message: "Access forbidden",
	Detail: "request already used (replayed signature): each signed request is accepted once; sign it again with a new date"}

// allowV1 reports whether in may sign with the timestamp-less v1 scheme:
// only unix integrations (Debian's login_duo and pam_duo need it), and only
// while their allow_v1_signatures flag is on. A v1 request carries no date,
// so it cannot be claimed once: two honest logins sign the same request.
func allowV1(in mfa.Integration) bool {
	return in.AllowV1Signatures && in.Type == mfa.IntegrationUnix
}

// serveOnce runs h for a verified request, accepting a state-changing one
// (any method but GET and HEAD) once on every node that shares the store:
// before h runs it claims the request's signature until the signed date
// plus the skew window, after which no node accepts the signature anyway.
// A signature already claimed is ErrReplayed and h does not run. When h
// answers 429 or 5xx, which do no work, the claim is released, so that a
// client may send the same signed request again (Duo's Go client does after
// a 429). v1 signatures, which only unix integrations may use, sign no date
// and are not claimed.
func (s *Surface) serveOnce(w http.ResponseWriter, r *http.Request, c *Caller, h HandlerFunc) error {
	if s.Signatures == nil || r.Method == http.MethodGet || r.Method == http.MethodHead || c.Params.Version == 1 {
		return h(w, r, c)
	}
	key, expires, ok := s.signatureClaim(r, c)
	if !ok {
		// Verify accepted the request, so this cannot happen; refuse
		// rather than run it unclaimed.
		return duoproto.ErrInvalidSignature
	}
	if s.deferClaim {
		return s.serveDeferred(w, r, c, h, key, expires)
	}
	err := s.Signatures.ClaimSignature(r.Context(), key, s.Now(), expires)
	if errors.Is(err, mfa.ErrConflict) {
		return ErrReplayed
	}
	if err != nil {
		return err
	}
	err = h(w, r, c)
	if err != nil && r.Context().Err() == nil {
		if st := ToDuo(err).Status; st == http.StatusTooManyRequests || st >= 500 {
			if rerr := s.Signatures.ReleaseSignature(context.WithoutCancel(r.Context()), key); rerr != nil {
				s.Logger.WarnContext(r.Context(), "release signature after a failed request", "route", r.Pattern, "error", rerr)
			}
		}
	}
	return err
}

// HandleDecision is Handle for a route whose handler decides the request
// with code that carries the claim in its own first store write (an
// authflow passcode attempt: see authflow.AuthRequest.Claim), so that
// accepting a login once costs no write of its own. serveOnce hands the
// claim to h through the request's context (ClaimOf) instead of claiming
// it first. Afterwards: a claim that a write found taken answers
// ErrReplayed; a kept claim is released after a 429 or 5xx, as by
// serveOnce; and a claim no write carried (h decided nothing: a bad
// parameter, say) is claimed then, so that a replay is refused all the
// same. h must claim (c.Claimed) before any effect of its own.
func (s *Surface) HandleDecision(h HandlerFunc, lists ...string) http.Handler {
	d := *s
	d.deferClaim = true
	return d.Handle(h, lists...)
}

type claimKey struct{}

// ClaimOf returns the pending claim HandleDecision handed to its handler,
// or nil (no claim: a GET, a v1 signature, no replay store).
func ClaimOf(ctx context.Context) *mfa.PendingClaim {
	c, _ := ctx.Value(claimKey{}).(*mfa.PendingClaim)
	return c
}

// serveDeferred is serveOnce for HandleDecision.
func (s *Surface) serveDeferred(w http.ResponseWriter, r *http.Request, c *Caller, h HandlerFunc, key string, expires time.Time) error {
	pc := &mfa.PendingClaim{SignatureClaim: mfa.SignatureClaim{Key: key, Now: s.Now(), Expires: expires}}
	r = r.WithContext(context.WithValue(r.Context(), claimKey{}, pc))
	err := h(w, r, c)
	if mfa.IsSignatureConflict(err) {
		return ErrReplayed
	}
	if r.Context().Err() != nil {
		return err
	}
	failed := false
	if err != nil {
		st := ToDuo(err).Status
		failed = st == http.StatusTooManyRequests || st >= 500
	}
	switch {
	case failed && pc.Claimed:
		if rerr := s.Signatures.ReleaseSignature(context.WithoutCancel(r.Context()), key); rerr != nil {
			s.Logger.WarnContext(r.Context(), "release signature after a failed request", "route", r.Pattern, "error", rerr)
		}
	case !failed && !pc.Claimed:
		cerr := s.Signatures.ClaimSignature(context.WithoutCancel(r.Context()), key, pc.Now, expires)
		if cerr != nil && !errors.Is(cerr, mfa.ErrConflict) {
			s.Logger.WarnContext(r.Context(), "claim signature after an undecided request", "route", r.Pattern, "error", cerr)
		}
	}
	return err
}

// signatureClaim returns the claim key of a verified request and when the
// claim may end: the signed date plus the skew window, plus a second for
// the date's precision.
func (s *Surface) signatureClaim(r *http.Request, c *Caller) (key string, expires time.Time, ok bool) {
	sig, ok := requestSignature(r.Header.Get("Authorization"))
	if !ok {
		return "", time.Time{}, false
	}
	date := r.Header.Get("X-Duo-Date")
	if date == "" {
		date = r.Header.Get("Date")
	}
	t, ok := duoproto.ParseDate(date)
	if !ok {
		return "", time.Time{}, false
	}
	skew := s.Skew
	if skew <= 0 {
		skew = duoproto.DefaultSkew
	}
	return mfa.SignatureKey(c.Integration.IKey, c.Params.Version, sig), t.Add(skew + time.Second), true
}

// requestSignature returns the hex signature of an Authorization header
// ("Basic base64(ikey:sig)"), lower-cased: hex digits in either case verify
// alike, so a replay must not escape its claim by changing their case.
func requestSignature(h string) (string, bool) {
	scheme, cred, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(cred); err != nil {
			return "", false
		}
	}
	_, sig, found := strings.Cut(string(raw), ":")
	if !found || sig == "" {
		return "", false
	}
	return strings.ToLower(sig), true
}

// HandleRead is Handle for a POST that only reads, which Duo's API defines
// and clients poll (enroll_status, check): its signature is not claimed, so
// two identical polls in one second both get their answer. Replaying one
// changes nothing.
func (s *Surface) HandleRead(h HandlerFunc) http.Handler {
	read := *s
	read.Signatures = nil
	return read.Handle(h)
}
