package otp

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Yubico's published vector (yubico-c, test-vectors.txt).
const (
	yubicoOTP    = "dteffujehknhfjbrjnlnldnhcujvddbikngjrtgh"
	yubicoKeyHex = "ecde18dbe76fbd0c33330f1c354871db"
	yubicoUIDHex = "8792ebfe26cc"
)

func TestModhexVectors(t *testing.T) {
	tests := []struct {
		give string // modhex
		want string // hex
	}{
		{"dteffuje", "2d344e83"},
		{"hknhfjbrjnlnldnhcujvddbikngjrtgh", "69b6481c8baba2b60e8f22179b58cd56"},
		{"urtubjtnuihvntcreeeecvbregfjibtn", "ecde18dbe76fbd0c33330f1c354871db"},
		{"ifhgieif", hex.EncodeToString([]byte("test"))},
		{"cbdefghijklnrtuv", "0123456789abcdef"},
	}
	for _, tt := range tests {
		got, err := DecodeModhex(tt.give)
		if err != nil || hex.EncodeToString(got) != tt.want {
			t.Errorf("DecodeModhex(%s) = %x, %v, want %s", tt.give, got, err, tt.want)
		}
		upper, err := DecodeModhex(strings.ToUpper(tt.give))
		if err != nil || !bytes.Equal(upper, got) {
			t.Errorf("DecodeModhex(upper %s) = %x, %v, want %s", tt.give, upper, err, tt.want)
		}
		if enc := EncodeModhex(mustHex(t, tt.want)); enc != tt.give {
			t.Errorf("EncodeModhex(%s) = %s, want %s", tt.want, enc, tt.give)
		}
	}
}

func TestModhexInvalid(t *testing.T) {
	tests := []struct {
		give       string
		wantIs     bool
		wantDecErr bool
	}{
		{"", false, false},
		{"c", false, true},
		{"cbd", false, true},
		{"ca", false, true},
		{"0c", false, true},
		{"cc", true, false},
		{"CCvV", true, false},
		{"cc cc", false, true},
	}
	for _, tt := range tests {
		if got := IsModhex(tt.give); got != tt.wantIs {
			t.Errorf("IsModhex(%q) = %v, want %v", tt.give, got, tt.wantIs)
		}
		_, err := DecodeModhex(tt.give)
		if (err != nil) != tt.wantDecErr {
			t.Errorf("DecodeModhex(%q) error = %v, want error %v", tt.give, err, tt.wantDecErr)
		}
		if err != nil && !errors.Is(err, ErrModhex) {
			t.Errorf("DecodeModhex(%q) error = %v, want ErrModhex", tt.give, err)
		}
	}
}

func TestParseYubiKeyOTPYubicoVector(t *testing.T) {
	key, uid := mustHex(t, yubicoKeyHex), mustHex(t, yubicoUIDHex)
	want := YubiKeyOTP{
		PublicID:       "dteffuje",
		PrivateID:      [6]byte(uid),
		UseCounter:     19,
		SessionCounter: 17,
		Timestamp:      49712,
		Random:         40904,
	}
	for _, give := range []string{yubicoOTP, strings.ToUpper(yubicoOTP)} {
		got, err := ParseYubiKeyOTP(give, key, uid)
		if err != nil {
			t.Fatalf("ParseYubiKeyOTP(%s) error = %v", give, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ParseYubiKeyOTP(%s) mismatch (-want +got):\n%s", give, diff)
		}
	}
	if got, want := (YubiKeyOTP{UseCounter: 19, SessionCounter: 17}).Counter(), uint32(19<<8|17); got != want {
		t.Errorf("Counter() = %d, want %d", got, want)
	}
}

// sealBlock builds, independently of the package's encoder, the block a
// YubiKey emits: little-endian fields, inverted CRC-16 over the first 14
// bytes, AES-128-ECB, modhex.
func sealBlock(t *testing.T, key []byte, pub string, uid [6]byte, useCtr uint16, tstp uint32, session uint8, rnd uint16) string {
	t.Helper()
	var pt [16]byte
	copy(pt[:], uid[:])
	binary.LittleEndian.PutUint16(pt[6:], useCtr)
	pt[8], pt[9], pt[10] = byte(tstp), byte(tstp>>8), byte(tstp>>16)
	pt[11] = session
	binary.LittleEndian.PutUint16(pt[12:], rnd)
	crc := uint16(0xffff)
	for _, b := range pt[:14] {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	binary.LittleEndian.PutUint16(pt[14:], ^crc)
	c, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	var ct [16]byte
	c.Encrypt(ct[:], pt[:])
	const alphabet = "cbdefghijklnrtuv"
	var sb strings.Builder
	sb.WriteString(pub)
	for _, b := range ct {
		sb.WriteByte(alphabet[b>>4])
		sb.WriteByte(alphabet[b&15])
	}
	return sb.String()
}

func TestParseYubiKeyOTPBuilt(t *testing.T) {
	key := mustHex(t, "000102030405060708090a0b0c0d0e0f")
	uid := [6]byte{1, 2, 3, 4, 5, 6}
	tests := []struct {
		name string
		pub  string
		use  uint16
		want YubiKeyOTP
	}{
		{"usual 12-char id", "vvcccccbdefg", 42, YubiKeyOTP{PublicID: "vvcccccbdefg", PrivateID: uid, UseCounter: 42, SessionCounter: 3, Timestamp: 0xabcdef, Random: 0x1234}},
		{"no public id", "", 1, YubiKeyOTP{PrivateID: uid, UseCounter: 1, SessionCounter: 3, Timestamp: 0xabcdef, Random: 0x1234}},
		{"32-char id", strings.Repeat("cb", 16), 0x7fff, YubiKeyOTP{PublicID: strings.Repeat("cb", 16), PrivateID: uid, UseCounter: 0x7fff, SessionCounter: 3, Timestamp: 0xabcdef, Random: 0x1234}},
		{"caps-lock bit removed", "vvcccccbdefg", 0x8000 | 42, YubiKeyOTP{PublicID: "vvcccccbdefg", PrivateID: uid, UseCounter: 42, SessionCounter: 3, Timestamp: 0xabcdef, Random: 0x1234}},
	}
	for _, tt := range tests {
		otp := sealBlock(t, key, tt.pub, uid, tt.use, 0xabcdef, 3, 0x1234)
		got, err := ParseYubiKeyOTP(otp, key, uid[:])
		if err != nil {
			t.Errorf("%s: ParseYubiKeyOTP error = %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: ParseYubiKeyOTP mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestEncodeYubiKeyOTPRoundTrip(t *testing.T) {
	key := mustHex(t, yubicoKeyHex)
	give := YubiKeyOTP{PublicID: "dteffuje", PrivateID: [6]byte(mustHex(t, yubicoUIDHex)), UseCounter: 19, SessionCounter: 17, Timestamp: 49712, Random: 40904}
	otp, err := EncodeYubiKeyOTP(give, key)
	if err != nil {
		t.Fatal(err)
	}
	if otp != yubicoOTP {
		t.Errorf("EncodeYubiKeyOTP(yubico vector) = %s, want %s", otp, yubicoOTP)
	}
	got, err := ParseYubiKeyOTP(otp, key, give.PrivateID[:])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(give, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	bad := []YubiKeyOTP{
		{PublicID: "xyz0"},
		{PublicID: strings.Repeat("cc", 17)},
		{UseCounter: 0x8000},
		{Timestamp: 1 << 24},
	}
	for _, y := range bad {
		if _, err := EncodeYubiKeyOTP(y, key); err == nil {
			t.Errorf("EncodeYubiKeyOTP(%+v) error = nil, want error", y)
		}
	}
	if _, err := EncodeYubiKeyOTP(give, key[:8]); err == nil {
		t.Error("EncodeYubiKeyOTP(8-byte key) error = nil, want error")
	}
}

func TestParseYubiKeyOTPErrors(t *testing.T) {
	key, uid := mustHex(t, yubicoKeyHex), mustHex(t, yubicoUIDHex)
	otherKey := mustHex(t, "000102030405060708090a0b0c0d0e0f")
	otherUID := mustHex(t, "010203040506")
	tests := []struct {
		name string
		otp  string
		key  []byte
		uid  []byte
		want error // nil: any non-sentinel error
	}{
		{"wrong key", yubicoOTP, otherKey, uid, ErrYubiKeyCRC},
		{"wrong private id", yubicoOTP, key, otherUID, ErrYubiKeyIdentity},
		{"flipped character", yubicoOTP[:20] + "c" + yubicoOTP[21:], key, uid, ErrYubiKeyCRC},
		{"too short", yubicoOTP[len(yubicoOTP)-31:], key, uid, ErrYubiKeyFormat},
		{"too long", strings.Repeat("cc", 17) + yubicoOTP[8:], key, uid, ErrYubiKeyFormat},
		{"odd length", "c" + yubicoOTP, key, uid, ErrYubiKeyFormat},
		{"not modhex", "dteffuja" + yubicoOTP[8:], key, uid, ErrYubiKeyFormat},
		{"digits", "12345678901234567890123456789012", key, uid, ErrYubiKeyFormat},
		{"empty", "", key, uid, ErrYubiKeyFormat},
		{"trailing newline", yubicoOTP + "\n", key, uid, ErrYubiKeyFormat},
		{"short key", yubicoOTP, key[:15], uid, nil},
		{"short private id", yubicoOTP, key, uid[:5], nil},
		{"nil private id", yubicoOTP, key, nil, nil},
	}
	for _, tt := range tests {
		got, err := ParseYubiKeyOTP(tt.otp, tt.key, tt.uid)
		switch {
		case err == nil:
			t.Errorf("%s: ParseYubiKeyOTP = %v, nil, want error", tt.name, got)
			continue
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: ParseYubiKeyOTP error = %v, want %v", tt.name, err, tt.want)
		case tt.want == nil && (errors.Is(err, ErrYubiKeyCRC) || errors.Is(err, ErrYubiKeyFormat) || errors.Is(err, ErrYubiKeyIdentity)):
			t.Errorf("%s: ParseYubiKeyOTP error = %v, want a configuration error", tt.name, err)
		}
		if got != (YubiKeyOTP{}) {
			t.Errorf("%s: ParseYubiKeyOTP returned %v with an error, want zero value", tt.name, got)
		}
		msg := err.Error()
		for _, secret := range []string{tt.otp, yubicoKeyHex, yubicoUIDHex, hex.EncodeToString(tt.key)} {
			if secret != "" && strings.Contains(msg, secret) {
				t.Errorf("%s: error %q contains a secret or the OTP", tt.name, msg)
			}
		}
	}
}

func TestYubiKeyOTPRedacts(t *testing.T) {
	uid := mustHex(t, yubicoUIDHex)
	y := YubiKeyOTP{PublicID: "dteffuje", PrivateID: [6]byte(uid), UseCounter: 19, SessionCounter: 17}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("yubikey", "otp", y)
	for _, out := range []string{fmt.Sprint(y), fmt.Sprintf("%v %s %+v", y, y, y), buf.String()} {
		if strings.Contains(out, yubicoUIDHex) || strings.Contains(out, fmt.Sprint(uid)) || strings.Contains(out, fmt.Sprint([6]byte(uid))) {
			t.Errorf("formatted YubiKeyOTP %q shows the private id", out)
		}
		if !strings.Contains(out, "dteffuje") {
			t.Errorf("formatted YubiKeyOTP %q lacks the public id", out)
		}
	}
}
