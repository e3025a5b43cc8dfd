package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// SignatureKeyLen is the length of every key SignatureKey returns: the hex
// SHA-256 of what identifies one signed request.
const SignatureKeyLen = 2 * sha256.Size

// SignatureKey returns the key under which a signed request is claimed:
// the hex SHA-256 of the integration key, the signature version and the
// signature (hex, lower case), so that a key has a fixed length whatever a
// client sends and reveals neither.
func SignatureKey(ikey string, version int, signature string) string {
	h := sha256.New()
	h.Write([]byte(ikey))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(version)))
	h.Write([]byte{0})
	h.Write([]byte(signature))
	return hex.EncodeToString(h.Sum(nil))
}

// ReplayStore keeps the signatures of accepted state-changing signed
// requests, shared by every node that uses the database, so that such a
// request is accepted once: a captured request sent again inside the
// clock-skew window finds its signature claimed.
type ReplayStore interface {
	// ClaimSignature records key (a SignatureKey) as used until expires.
	// If key is already claimed with an expiry after now, it is Conflict
	// and changes nothing. A claim whose expiry is at or before now is
	// taken over. Each claim is one atomic conditional write: of N
	// concurrent claims of one key, from any number of nodes, exactly one
	// wins. Invalid for a key that is not SignatureKeyLen bytes long or an
	// expiry that is not after now.
	ClaimSignature(ctx context.Context, key string, now, expires time.Time) error
	// ReleaseSignature forgets the claim of key, so that the same request
	// may be sent again (after an answer that did no work, such as a 429).
	// Releasing a key that is not claimed is not an error.
	ReleaseSignature(ctx context.Context, key string) error
	// DeleteExpiredSignatures deletes the claims whose expiry is at or
	// before now (the reaper), returning how many. Deleting one changes no
	// answer: a later claim of its key would take it over anyway.
	DeleteExpiredSignatures(ctx context.Context, now time.Time) (int, error)
}

// CheckClaimArgs reports an Invalid error for ClaimSignature arguments that
// the contract refuses, for stores to share.
func CheckClaimArgs(key string, now, expires time.Time) error {
	switch {
	case len(key) != SignatureKeyLen:
		return InvalidField("key", "a signature key must be "+strconv.Itoa(SignatureKeyLen)+" characters")
	case !expires.After(now):
		return InvalidField("expires", "a signature claim must expire after now")
	}
	return nil
}

// PendingClaim is a signed request's claim handed by the HTTP edge to the
// code that decides the request, which carries it in its first store
// write (AuthWrite.Claim), so that the claim costs no write of its own.
// Claimed reports whether a write kept it (the edge releases a kept claim
// after an answer that did no work, and claims one that no write carried).
type PendingClaim struct {
	SignatureClaim
	Claimed bool
}
