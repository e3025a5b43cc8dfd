package seal

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// DefaultKeyID is the id of a master key given without one.
const DefaultKeyID = "k1"

// format is the first byte of every sealed value.
const format byte = 1

var keyIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Key is a master key and its id.
type Key struct {
	ID       string
	Material [KeySize]byte
}

// LogValue redacts the key material.
func (k Key) LogValue() slog.Value { return slog.StringValue("key " + k.ID + " [redacted]") }

// String redacts the key material.
func (k Key) String() string { return "key " + k.ID + " [redacted]" }

// GoString redacts the key material.
func (k Key) GoString() string { return k.String() }

// Format redacts the key material for every verb.
func (k Key) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// Encode returns the key in the text form ParseKey reads: "<id>:<base64>".
func (k Key) Encode() string {
	return k.ID + ":" + base64.StdEncoding.EncodeToString(k.Material[:])
}

// GenerateKey makes a new random master key.
func GenerateKey(r io.Reader, id string) (Key, error) {
	if !keyIDPattern.MatchString(id) {
		return Key{}, fmt.Errorf("generate key: key id %q must be 1-32 of a-z, 0-9 and -", id)
	}
	k := Key{ID: id}
	if _, err := io.ReadFull(r, k.Material[:]); err != nil {
		return Key{}, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// ParseKey reads a master key written as "<id>:<base64>" or "<base64>"
// (id DefaultKeyID). The base64 may be standard or URL-safe, padded or not,
// and must decode to exactly 32 bytes. Errors never echo the key.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	id := DefaultKeyID
	if i := strings.IndexByte(s, ':'); i >= 0 {
		id, s = s[:i], s[i+1:]
	}
	if !keyIDPattern.MatchString(id) {
		return Key{}, errors.New("master key: the key id before ':' must be 1-32 of a-z, 0-9 and -")
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return Key{}, errors.New("master key: not valid base64")
	}
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("master key: decodes to %d bytes, want %d", len(raw), KeySize)
	}
	k := Key{ID: id}
	copy(k.Material[:], raw)
	return k, nil
}

// ParseKeys reads one or more master keys in ParseKey's form, separated
// by white space or commas (a file with one key per line). The first is
// the current key; ids must differ. Errors never echo a key.
func ParseKeys(s string) ([]Key, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	if len(fields) == 0 {
		return nil, errors.New("master key: empty")
	}
	keys := make([]Key, 0, len(fields))
	seen := map[string]bool{}
	for i, f := range fields {
		k, err := ParseKey(f)
		if err != nil {
			if len(fields) > 1 {
				return nil, fmt.Errorf("%w (key %d of %d)", err, i+1, len(fields))
			}
			return nil, err
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("master key: key id %q given twice", k.ID)
		}
		seen[k.ID] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// Keyring seals under its current key and opens values sealed under any of
// its keys.
type Keyring struct {
	current string
	aeads   map[string]aeadKey
}

type aeadKey struct {
	seal func(dst, nonce, plaintext, aad []byte) []byte
	open func(dst, nonce, ciphertext, aad []byte) ([]byte, error)
}

// NewKeyring makes a keyring that seals under current and also opens values
// sealed under any of old.
func NewKeyring(current Key, old ...Key) (*Keyring, error) {
	k := &Keyring{current: current.ID, aeads: map[string]aeadKey{}}
	for _, key := range append([]Key{current}, old...) {
		if !keyIDPattern.MatchString(key.ID) {
			return nil, fmt.Errorf("keyring: bad key id %q", key.ID)
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("keyring: key id %q given twice", key.ID)
		}
		derived, err := hkdf.Key(sha256.New, key.Material[:], nil, "twostep seal v1 "+key.ID, chacha20poly1305.KeySize)
		if err != nil {
			return nil, fmt.Errorf("keyring: derive key: %w", err)
		}
		aead, err := chacha20poly1305.NewX(derived)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		k.aeads[key.ID] = aeadKey{seal: aead.Seal, open: aead.Open}
	}
	return k, nil
}

// CurrentID is the id of the key new values are sealed under.
func (k *Keyring) CurrentID() string { return k.current }

// IDs are the ids of every key the keyring holds, the current one first.
func (k *Keyring) IDs() []string {
	ids := []string{k.current}
	for id := range k.aeads {
		if id != k.current {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids[1:])
	return ids
}

// Has reports whether the keyring holds a key with this id.
func (k *Keyring) Has(id string) bool {
	_, ok := k.aeads[id]
	return ok
}

// Seal encrypts plaintext, binding it to aad (which must be given again to
// Open). The result is: format byte, key-id length, key id, 24-byte nonce,
// ciphertext with tag.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	id := k.current
	out := make([]byte, 0, 2+len(id)+chacha20poly1305.NonceSizeX+len(plaintext)+chacha20poly1305.Overhead)
	out = append(out, format, byte(len(id)))
	out = append(out, id...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out = append(out, nonce...)
	return k.aeads[id].seal(out, nonce, plaintext, aad), nil
}

// ErrOpen is returned when a sealed value cannot be opened: it is corrupt,
// bound to other aad, or sealed under a key the keyring does not hold.
var ErrOpen = errors.New("sealed value cannot be opened")

// Open decrypts a value made by Seal with the same aad.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	id, rest, ok := split(sealed)
	if !ok {
		return nil, fmt.Errorf("%w: malformed", ErrOpen)
	}
	a, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: sealed under key %q, which is not configured", ErrOpen, id)
	}
	if len(rest) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: truncated", ErrOpen)
	}
	nonce, ct := rest[:chacha20poly1305.NonceSizeX], rest[chacha20poly1305.NonceSizeX:]
	pt, err := a.open(nil, nonce, ct, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrOpen)
	}
	return pt, nil
}

// KeyID reports which key a sealed value is sealed under.
func KeyID(sealed []byte) (string, bool) {
	id, _, ok := split(sealed)
	return id, ok
}

// NeedsReseal reports whether a sealed value is under a key other than the
// current one.
func (k *Keyring) NeedsReseal(sealed []byte) bool {
	id, ok := KeyID(sealed)
	return !ok || id != k.current
}

func split(sealed []byte) (id string, rest []byte, ok bool) {
	if len(sealed) < 2 || sealed[0] != format {
		return "", nil, false
	}
	n := int(sealed[1])
	if n == 0 || len(sealed) < 2+n {
		return "", nil, false
	}
	return string(sealed[2 : 2+n]), sealed[2+n:], true
}
