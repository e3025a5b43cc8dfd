package tokenfile_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/tokenfile"
)

// rec is a Record with hex key material, for comparisons and diffs.
type rec struct {
	Type, Serial, Secret string
	Counter              uint64
	Step                 int
	PrivateID, AESKey    string
	Line                 int
	KeyID                string
}

func view(rs []tokenfile.Record) []rec {
	var out []rec
	for _, r := range rs {
		out = append(out, rec{Type: r.Type, Serial: r.Serial, Secret: hex.EncodeToString(r.Secret), Counter: r.Counter,
			Step: r.TOTPStep, PrivateID: hex.EncodeToString(r.PrivateID), AESKey: hex.EncodeToString(r.AESKey),
			Line: r.Line, KeyID: r.KeyID})
	}
	return out
}

const rfcSecret = "3132333435363738393031323334353637383930" // "12345678901234567890"

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		format  tokenfile.Format
		opts    tokenfile.Options
		give    string
		want    []rec
		wantBad []string // RowError strings
	}{
		{
			name:   "hotp with header, comment, blank line and default counter",
			format: tokenfile.HOTPCSV,
			give: "serial,secret,counter\n# vendor batch 7\n\nSN-1," + rfcSecret + ",5\n" +
				" SN-2 , " + strings.ToUpper(rfcSecret) + "\n",
			want: []rec{
				{Type: "h6", Serial: "SN-1", Secret: rfcSecret, Counter: 5, Line: 4},
				{Type: "h6", Serial: "SN-2", Secret: rfcSecret, Line: 5},
			},
		},
		{
			name:   "hotp 8 digits",
			format: tokenfile.HOTPCSV,
			opts:   tokenfile.Options{Digits: 8},
			give:   "A1," + rfcSecret + ",0\r\n",
			want:   []rec{{Type: "h8", Serial: "A1", Secret: rfcSecret, Line: 1}},
		},
		{
			name:   "hotp bad rows are reported and the good ones kept",
			format: tokenfile.HOTPCSV,
			give: "ok1," + rfcSecret + ",1\n" +
				"bad-hex,zz" + rfcSecret + ",1\n" +
				"short,31323334\n" +
				"neg," + rfcSecret + ",-1\n" +
				"lonely\n" +
				"," + rfcSecret + "\n" +
				"extra," + rfcSecret + ",1,2\n" +
				"ok2," + rfcSecret + "\n",
			want: []rec{
				{Type: "h6", Serial: "ok1", Secret: rfcSecret, Counter: 1, Line: 1},
				{Type: "h6", Serial: "ok2", Secret: rfcSecret, Line: 8},
			},
			wantBad: []string{
				"line 2 (bad-hex): secret: hex: invalid character at position 1",
				"line 3 (short): secret: 4 bytes, want 10 to 64",
				"line 4 (neg): counter: not a non-negative integer",
				"line 5 (lonely): want at least serial and secret",
				"line 6: serial: empty",
				"line 7 (extra): want at most 3 columns, got 4",
			},
		},
		{
			name:   "totp default and per-row steps",
			format: tokenfile.TOTPCSV,
			opts:   tokenfile.Options{TOTPStep: 60},
			give:   "T1," + rfcSecret + "\nT2," + rfcSecret + ",30\nT3," + rfcSecret + ",45\n",
			want: []rec{
				{Type: "t6", Serial: "T1", Secret: rfcSecret, Step: 60, Line: 1},
				{Type: "t6", Serial: "T2", Secret: rfcSecret, Step: 30, Line: 2},
			},
			wantBad: []string{"line 3 (T3): step: must be 30 or 60"},
		},
		{
			name:   "yubikey layouts",
			format: tokenfile.YubiKeyCSV,
			give: "LOGGING START,12/17/14 3:34 PM\n" +
				"Yubico OTP,12/17/14 3:35 PM,1,vvccccdfgbjk,a1b2c3d4e5f6,00112233445566778899aabbccddeeff,,,0,0,0,0,0,0,0,0,0,0\n" +
				"4711,VVCCCCDFGBJL,0a0b0c0d0e0f,ffeeddccbbaa99887766554433221100,,2019-01-01T00:00:00\n" +
				"vvccccdfgbjn,112233445566,0123456789abcdef0123456789abcdef\n" +
				"OATH-HOTP,12/17/14 3:36 PM,2,,,00112233445566778899aabbccddeeff00112233\n" +
				"vvccccdfgbjr,1122334455,0123456789abcdef0123456789abcdef\n" +
				"notmodhex1,112233445566,0123456789abcdef0123456789abcdef\n" +
				"vvccccdfgbjt,112233445566,0123\n",
			want: []rec{
				{Type: "yk", Serial: "vvccccdfgbjk", PrivateID: "a1b2c3d4e5f6", AESKey: "00112233445566778899aabbccddeeff", Line: 2},
				{Type: "yk", Serial: "vvccccdfgbjl", PrivateID: "0a0b0c0d0e0f", AESKey: "ffeeddccbbaa99887766554433221100", Line: 3},
				{Type: "yk", Serial: "vvccccdfgbjn", PrivateID: "112233445566", AESKey: "0123456789abcdef0123456789abcdef", Line: 4},
			},
			wantBad: []string{
				"line 5 (OATH-HOTP): a OATH-HOTP configuration, not Yubico OTP",
				"line 6 (vvccccdfgbjr): private id: must be 12 hex characters",
				"line 7 (notmodhex1): public id: must be modhex (2 to 32 characters)",
				"line 8 (vvccccdfgbjt): AES key: must be 32 hex characters",
			},
		},
		{
			name:    "unterminated quote stops with a row error",
			format:  tokenfile.HOTPCSV,
			give:    "ok," + rfcSecret + "\n\"bad," + rfcSecret + "\n",
			want:    []rec{{Type: "h6", Serial: "ok", Secret: rfcSecret, Line: 1}},
			wantBad: []string{`line 2: malformed CSV: extraneous or missing " in quoted-field`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad, err := tokenfile.Parse(tt.format, strings.NewReader(tt.give), tt.opts)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, view(got)); diff != "" {
				t.Errorf("Parse() records (-want +got):\n%s", diff)
			}
			var gotBad []string
			for _, b := range bad {
				gotBad = append(gotBad, b.Error())
			}
			if diff := cmp.Diff(tt.wantBad, gotBad); diff != "" {
				t.Errorf("Parse() rejected (-want +got):\n%s", diff)
			}
		})
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePSKC(t *testing.T) {
	psk, _ := hex.DecodeString("12345678901234567890123456789012")
	tests := []struct {
		file    string
		opts    tokenfile.Options
		want    []rec
		wantBad []string
	}{
		{
			// 4-byte secret: too short for any token; Key Id stands in for the serial.
			file:    "rfc6030-figure2.pskcxml",
			wantBad: []string{"line 6 (key 12345678): secret: 4 bytes, want 10 to 64"},
		},
		{
			file: "rfc6030-figure3.pskcxml",
			want: []rec{{Type: "h8", Serial: "987654321", Secret: rfcSecret, Line: 6, KeyID: "12345678"}},
		},
		{
			file: "rfc6030-figure6.pskcxml",
			opts: tokenfile.Options{PreSharedKey: psk},
			want: []rec{{Type: "h8", Serial: "987654321", Secret: rfcSecret, Line: 23, KeyID: "12345678"}},
		},
		{
			file:    "rfc6030-figure6.pskcxml",
			wantBad: []string{"line 23 (serial 987654321, key 12345678): secret: encrypted; give the pre-shared key to decrypt it"},
		},
		{
			file:    "rfc6030-figure6.pskcxml",
			opts:    tokenfile.Options{PreSharedKey: bytes.Repeat([]byte{7}, 16)},
			wantBad: []string{"line 23 (serial 987654321, key 12345678): secret: MAC key: decryption failed (wrong pre-shared key?)"},
		},
		{
			file:    "rfc6030-figure6.pskcxml",
			opts:    tokenfile.Options{PreSharedKey: []byte("short")},
			wantBad: []string{"line 23 (serial 987654321, key 12345678): secret: MAC key: the pre-shared key has 5 bytes; aes128-cbc needs 16"},
		},
		{
			file: "rfc6030-figure10.pskcxml",
			want: []rec{
				{Type: "h8", Serial: "654321", Secret: rfcSecret, Line: 5, KeyID: "1"},
				{Type: "h8", Serial: "123456", Secret: rfcSecret, Line: 32, KeyID: "2"},
				{Type: "h8", Serial: "9999999", Secret: rfcSecret, Line: 59, KeyID: "3"},
				{Type: "h8", Serial: "9999999", Secret: rfcSecret, Line: 86, KeyID: "4"},
			},
		},
		{
			file: "totp.pskcxml",
			want: []rec{
				{Type: "t6", Serial: "987654323", Secret: rfcSecret, Step: 30, Line: 6, KeyID: "987654323"},
				{Type: "t8", Serial: "T60-1", Secret: rfcSecret, Step: 60, Line: 35, KeyID: "2"},
			},
			wantBad: []string{"line 53 (serial T45, key 3): time interval 45 not supported (30 or 60 seconds)"},
		},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/psk=%d", tt.file, len(tt.opts.PreSharedKey)), func(t *testing.T) {
			got, bad, err := tokenfile.Parse(tokenfile.PSKC, bytes.NewReader(readFile(t, tt.file)), tt.opts)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, view(got)); diff != "" {
				t.Errorf("Parse() records (-want +got):\n%s", diff)
			}
			var gotBad []string
			for _, b := range bad {
				gotBad = append(gotBad, b.Error())
			}
			if diff := cmp.Diff(tt.wantBad, gotBad); diff != "" {
				t.Errorf("Parse() rejected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePSKCRejects(t *testing.T) {
	pkg := func(key string) string {
		return `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage>
<DeviceInfo><SerialNo>S1</SerialNo></DeviceInfo>` + key + `</KeyPackage></KeyContainer>`
	}
	secret := `<Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret></Data>`
	tests := []struct {
		give string
		want string
	}{
		{pkg(`<Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:ocra">` + secret + `</Key>`),
			`line 1 (serial S1, key 1): algorithm "urn:ietf:params:xml:ns:keyprov:pskc:ocra" not supported (HOTP and TOTP only)`},
		{pkg(`<Key Id="1">` + secret + `</Key>`), "line 1 (serial S1, key 1): key has no Algorithm"},
		{pkg(`<Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><AlgorithmParameters><ResponseFormat Length="7"/></AlgorithmParameters>` + secret + `</Key>`),
			`line 1 (serial S1, key 1): response length "7" not supported (6 or 8)`},
		{pkg(`<Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><AlgorithmParameters><ResponseFormat Length="6" Encoding="HEXADECIMAL"/></AlgorithmParameters>` + secret + `</Key>`),
			`line 1 (serial S1, key 1): response encoding "HEXADECIMAL" not supported (DECIMAL only)`},
		{pkg(`<Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"></Key>`), "line 1 (serial S1, key 1): secret: missing"},
		{pkg(`<Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><PlainValue>!!</PlainValue></Secret></Data></Key>`),
			"line 1 (serial S1, key 1): secret: plain value is not base64"},
		{pkg(`<Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret><Counter><PlainValue>x</PlainValue></Counter></Data></Key>`),
			"line 1 (serial S1, key 1): counter: not a non-negative integer"},
		{pkg(``), "line 1 (serial S1): key package without a Key"},
	}
	for _, tt := range tests {
		_, bad, err := tokenfile.Parse(tokenfile.PSKC, strings.NewReader(tt.give), tokenfile.Options{})
		if err != nil {
			t.Errorf("Parse(%q) error = %v", tt.give, err)
			continue
		}
		if len(bad) != 1 || bad[0].Error() != tt.want {
			t.Errorf("Parse(%q) rejected = %v, want [%s]", tt.give, bad, tt.want)
		}
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		format tokenfile.Format
		opts   tokenfile.Options
		give   string
	}{
		{tokenfile.PSKC, tokenfile.Options{}, "not xml"},
		{tokenfile.PSKC, tokenfile.Options{}, "<KeyContainer Version='1.0'><KeyPackage>"},
		{tokenfile.PSKC, tokenfile.Options{}, "<Other/>"},
		{tokenfile.PSKC, tokenfile.Options{}, `<KeyContainer Version="2.0"/>`},
		{tokenfile.PSKC, tokenfile.Options{}, `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><KeyContainer Version="1.0">&e;</KeyContainer>`},
		{tokenfile.HOTPCSV, tokenfile.Options{Digits: 7}, ""},
		{tokenfile.TOTPCSV, tokenfile.Options{TOTPStep: 45}, ""},
		{tokenfile.HOTPCSV, tokenfile.Options{}, "\xff\xfe"},
		{"xml", tokenfile.Options{}, ""},
	}
	for _, tt := range tests {
		if _, _, err := tokenfile.Parse(tt.format, strings.NewReader(tt.give), tt.opts); err == nil {
			t.Errorf("Parse(%s, %q) error = nil, want an error", tt.format, tt.give)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range tokenfile.Formats() {
		if got, err := tokenfile.ParseFormat(strings.ToUpper(string(f))); got != f || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v, want %q", strings.ToUpper(string(f)), got, err, f)
		}
	}
	if _, err := tokenfile.ParseFormat("csv"); err == nil {
		t.Error("ParseFormat(csv) error = nil, want an error")
	}
}

// TestRecordRedacts proves a record's printed and logged forms hold no key
// material.
func TestRecordRedacts(t *testing.T) {
	r := tokenfile.Record{Type: "yk", Serial: "vvcccc", Secret: []byte("SEEDSEEDSEED"),
		PrivateID: []byte{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}, AESKey: bytes.Repeat([]byte{0xab}, 16)}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("import", "record", r)
	for _, out := range []string{fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s %x %q", r, r, r, r, r, r), logs.String()} {
		for _, secret := range []string{"SEED", "a1b2c3", "abababab", "U0VFRF", "[161 178"} {
			if strings.Contains(strings.ToLower(out), strings.ToLower(secret)) {
				t.Errorf("printed record %q contains key material %q", out, secret)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"rfc6030-figure2.pskcxml", "rfc6030-figure3.pskcxml", "rfc6030-figure6.pskcxml", "totp.pskcxml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("serial,secret,counter\nSN-1," + rfcSecret + ",5\n"))
	f.Add([]byte("Yubico OTP,x,1,vvccccdfgbjk,a1b2c3d4e5f6,00112233445566778899aabbccddeeff\n"))
	f.Add([]byte("\"a,b\n,,,\n"))
	psk, _ := hex.DecodeString("12345678901234567890123456789012")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range tokenfile.Formats() {
			recs, bad, err := tokenfile.Parse(format, bytes.NewReader(data), tokenfile.Options{PreSharedKey: psk})
			if err != nil && (recs != nil || bad != nil) {
				t.Fatalf("Parse(%s) returned records with an error", format)
			}
			for _, r := range recs {
				if r.Serial == "" || r.Type == "" {
					t.Fatalf("Parse(%s) record %v without serial or type", format, r)
				}
			}
		}
	})
}
