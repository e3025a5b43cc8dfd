package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func mustKey(t *testing.T, id string) Key {
	t.Helper()
	k, err := GenerateKey(rand.Reader, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustKey(t, "k1")
	ring, err := NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give []byte
	}{
		{"empty", []byte{}},
		{"seed", []byte("12345678901234567890")},
		{"binary", bytes.Repeat([]byte{0, 255}, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := ring.Seal(tt.give, []byte("users.secret:DU1"))
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.give) > 0 && bytes.Contains(sealed, tt.give) {
				t.Errorf("Seal(%q) contains the plaintext", tt.give)
			}
			got, err := ring.Open(sealed, []byte("users.secret:DU1"))
			if err != nil {
				t.Fatalf("Open() error = %v", err)
			}
			if !bytes.Equal(got, tt.give) {
				t.Errorf("Open(Seal(%q)) = %q, want %q", tt.give, got, tt.give)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	ring, _ := NewKeyring(mustKey(t, "k1"))
	a, _ := ring.Seal([]byte("x"), nil)
	b, _ := ring.Seal([]byte("x"), nil)
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal; want distinct nonces")
	}
}

func TestOpenFailures(t *testing.T) {
	k1, k2 := mustKey(t, "k1"), mustKey(t, "k2")
	ring1, _ := NewKeyring(k1)
	ring2, _ := NewKeyring(k2)
	sealed, _ := ring1.Seal([]byte("secret"), []byte("aad"))
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name string
		ring *Keyring
		give []byte
		aad  string
	}{
		{"wrong aad", ring1, sealed, "other"},
		{"unknown key", ring2, sealed, "aad"},
		{"tampered", ring1, flipped, "aad"},
		{"truncated", ring1, sealed[:10], "aad"},
		{"empty", ring1, nil, "aad"},
		{"bad format", ring1, append([]byte{9}, sealed[1:]...), "aad"},
		{"zero id length", ring1, []byte{1, 0, 1, 2, 3}, "aad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ring.Open(tt.give, []byte(tt.aad))
			if !errors.Is(err, ErrOpen) {
				t.Errorf("Open() error = %v, want ErrOpen", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old, cur := mustKey(t, "old"), mustKey(t, "new")
	oldRing, _ := NewKeyring(old)
	sealed, _ := oldRing.Seal([]byte("seed"), []byte("a"))
	ring, err := NewKeyring(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	if !ring.NeedsReseal(sealed) {
		t.Error("NeedsReseal(sealed under old) = false, want true")
	}
	got, err := ring.Open(sealed, []byte("a"))
	if err != nil || string(got) != "seed" {
		t.Fatalf("Open(old value) = %q, %v; want seed", got, err)
	}
	resealed, _ := ring.Seal(got, []byte("a"))
	if ring.NeedsReseal(resealed) {
		t.Error("NeedsReseal(resealed) = true, want false")
	}
	if id, _ := KeyID(resealed); id != "new" {
		t.Errorf("KeyID(resealed) = %q, want new", id)
	}
	if _, err := NewKeyring(cur, cur); err == nil {
		t.Error("NewKeyring(same id twice) = nil error, want error")
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	std := base64.StdEncoding.EncodeToString(raw)
	tests := []struct {
		give    string
		wantID  string
		wantErr string
	}{
		{give: std, wantID: "k1"},
		{give: "prod-2026:" + std, wantID: "prod-2026"},
		{give: base64.RawURLEncoding.EncodeToString(raw) + "\n", wantID: "k1"},
		{give: "Bad_ID:" + std, wantErr: "key id"},
		{give: "k1:not base64!!", wantErr: "not valid base64"},
		{give: base64.StdEncoding.EncodeToString(raw[:16]), wantErr: "16 bytes"},
		{give: "", wantErr: "0 bytes"},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.give)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseKey(%q) error = %v, want containing %q", tt.give, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), std) {
				t.Errorf("ParseKey error echoes the key: %v", err)
			}
			continue
		}
		if err != nil || k.ID != tt.wantID || !bytes.Equal(k.Material[:], raw) {
			t.Errorf("ParseKey(%q) = %q, %v; want id %q", tt.give, k.ID, err, tt.wantID)
		}
	}
	k := mustKey(t, "k7")
	back, err := ParseKey(k.Encode())
	if err != nil || back != k {
		t.Errorf("ParseKey(Encode()) = %v, %v; want the same key", back.ID, err)
	}
}

func TestKeyNeverPrints(t *testing.T) {
	k := mustKey(t, "k1")
	enc := base64.StdEncoding.EncodeToString(k.Material[:])
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", k)
	outs := []string{fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k), logs.String()}
	for _, out := range outs {
		if strings.Contains(out, enc) || strings.Contains(out, fmt.Sprintf("%x", k.Material[:])) || strings.Contains(out, string(k.Material[:])) {
			t.Errorf("key material printed: %s", out)
		}
	}
}
