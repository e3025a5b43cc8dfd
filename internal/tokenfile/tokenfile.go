package tokenfile

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twostep-auth/twostep/internal/otp"
)

// Format names a seed file layout.
type Format string

// Formats.
const (
	// HOTPCSV is Duo's HOTP import: "serial,secret[,counter]" per line,
	// the secret in hex, the counter decimal (default 0). Options.Digits
	// chooses h6 or h8, as Duo's dialog asks for the token type.
	HOTPCSV Format = "hotp-csv"
	// TOTPCSV is Duo's TOTP import: "serial,secret[,step]" per line, the
	// secret in hex; the step is Options.TOTPStep (default 30) unless a
	// third column gives it. Options.Digits chooses t6 or t8.
	TOTPCSV Format = "totp-csv"
	// YubiKeyCSV is Yubico OTP (AES) configurations in any of three
	// layouts, detected per line:
	//   - Duo's:  public id (modhex), private id (hex), AES key (hex)
	//   - Yubico's production file and the Personalization Tool's
	//     "Yubico format" log: serial, public id, private id, AES key,
	//     access code, timestamp
	//   - the Personalization Tool's traditional log: "Yubico OTP",
	//     timestamp, slot, public id, private id, AES key, ...
	// The public id becomes the token serial.
	YubiKeyCSV Format = "yubikey-csv"
	// PSKC is RFC 6030 XML: HOTP and TOTP keys, plain or encrypted with a
	// pre-shared key (Options.PreSharedKey; aes128-cbc, aes192-cbc or
	// aes256-cbc with the IV prepended, RFC 6030 section 6.1).
	PSKC Format = "pskc"
)

// Formats lists every format, for help texts.
func Formats() []Format { return []Format{HOTPCSV, TOTPCSV, YubiKeyCSV, PSKC} }

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("tokenfile: unknown format %q (want one of hotp-csv, totp-csv, yubikey-csv, pskc)", s)
}

// Options tune Parse.
type Options struct {
	Digits       int    // CSV formats: 6 (default) or 8
	TOTPStep     int    // TOTPCSV: default step in seconds, 30 (default) or 60
	PreSharedKey []byte // PSKC: the AES key that encrypts the key material
}

// MaxFileBytes bounds what Parse reads.
const MaxFileBytes = 32 << 20

// Record is one token found in a file. Type is Duo's token type string
// ("h6", "h8", "t6", "t8", "yk"). Its String and LogValue forms never show
// key material.
type Record struct {
	Type      string
	Serial    string
	Secret    []byte // HOTP/TOTP seed
	Counter   uint64 // HOTP: next counter
	TOTPStep  int    // TOTP: seconds
	PrivateID []byte // YubiKey: 6 bytes
	AESKey    []byte // YubiKey: 16 bytes
	Line      int    // line of the CSV row or of the PSKC KeyPackage
	KeyID     string // PSKC Key Id, if any
}

// String describes the record without key material.
func (r Record) String() string {
	s := fmt.Sprintf("line %d: %s token %q", r.Line, r.Type, r.Serial)
	switch r.Type {
	case "h6", "h8":
		s += fmt.Sprintf(" counter %d", r.Counter)
	case "t6", "t8":
		s += fmt.Sprintf(" step %ds", r.TOTPStep)
	}
	return s
}

// GoString is String, so that %#v shows no key material either.
func (r Record) GoString() string { return "tokenfile.Record{" + r.String() + "}" }

// Format prints String for every verb.
func (r Record) Format(f fmt.State, verb rune) { io.WriteString(f, r.String()) }

// LogValue shows the record without key material.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("line", r.Line), slog.String("type", r.Type), slog.String("serial", r.Serial))
}

// RowError is a row or key package that Parse (or an importer) rejected.
type RowError struct {
	Line   int    // 0 if unknown
	Key    string // serial or key id, if known
	Reason string // never contains key material
}

func (e RowError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
	}
	if e.Key != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "(%s)", e.Key)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Parse reads a token file in format. A row it cannot use is reported in
// rejected and never stops the others; err is for a file that cannot be
// read at all (unknown format, I/O error, malformed XML, too large).
func Parse(format Format, r io.Reader, opts Options) (records []Record, rejected []RowError, err error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("tokenfile: read: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, nil, fmt.Errorf("tokenfile: file larger than %d bytes", MaxFileBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM, as spreadsheets write
	switch format {
	case HOTPCSV, TOTPCSV:
		digits := opts.Digits
		if digits == 0 {
			digits = 6
		}
		if digits != 6 && digits != 8 {
			return nil, nil, fmt.Errorf("tokenfile: digits %d, want 6 or 8", digits)
		}
		step := opts.TOTPStep
		if step == 0 {
			step = 30
		}
		if step != 30 && step != 60 {
			return nil, nil, fmt.Errorf("tokenfile: TOTP step %d, want 30 or 60", step)
		}
		return parseCSV(data, func(line int, f []string) (Record, bool, error) {
			return oathRow(format, digits, step, line, f)
		})
	case YubiKeyCSV:
		return parseCSV(data, yubiKeyRow)
	case PSKC:
		return parsePSKC(data, opts)
	}
	return nil, nil, fmt.Errorf("tokenfile: unknown format %q", format)
}

// rowFunc turns one CSV row into a record; skip reports a header or a
// comment row; err (a RowError reason) rejects the row.
type rowFunc func(line int, fields []string) (rec Record, skip bool, err error)

func parseCSV(data []byte, row rowFunc) ([]Record, []RowError, error) {
	if !utf8.Valid(data) {
		return nil, nil, errors.New("tokenfile: the file is not UTF-8 text")
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = false
	var recs []Record
	var bad []RowError
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			break
		}
		line := 0
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, RowError{Line: pe.StartLine, Reason: "malformed CSV: " + pe.Err.Error()})
			// encoding/csv cannot resynchronise after a quote error; stop.
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("tokenfile: read CSV: %w", err)
		}
		line, _ = cr.FieldPos(0)
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if blank(fields) {
			continue
		}
		rec, skip, err := row(line, fields)
		if skip {
			continue
		}
		if err != nil {
			bad = append(bad, RowError{Line: line, Key: safeKey(fields[0]), Reason: err.Error()})
			continue
		}
		rec.Line = line
		recs = append(recs, rec)
	}
	return recs, bad, nil
}

func blank(fields []string) bool {
	for _, f := range fields {
		if f != "" {
			return false
		}
	}
	return true
}

// safeKey returns a row's first field for a RowError if it looks like a
// serial: short, printable, and without a long run of hex or base64
// characters that could be a seed (a row whose columns were run together).
func safeKey(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	run := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return ""
		}
		if '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '+' || r == '/' || r == '=' {
			run++
			if run >= 20 {
				return ""
			}
		} else {
			run = 0
		}
	}
	return s
}

// isHeader reports a header row: its first field names a column.
func isHeader(first string) bool {
	switch strings.ToLower(strings.Trim(first, " \"")) {
	case "serial", "serial number", "serialno", "serial_number", "serial no", "token serial", "sn",
		"public id", "publicid", "public_id", "public identity", "event type":
		return true
	}
	return false
}

const maxSerial = 128

func checkSerial(s string) error {
	if s == "" {
		return errors.New("serial: empty")
	}
	if utf8.RuneCountInString(s) > maxSerial {
		return fmt.Errorf("serial: longer than %d characters", maxSerial)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("serial: contains control characters")
		}
	}
	return nil
}

// secretReason rewords an otp secret error without its package prefix.
func secretReason(err error) string {
	return "secret: " + strings.TrimPrefix(err.Error(), otp.ErrSecret.Error()+": ")
}

func oathRow(format Format, digits, step, line int, f []string) (Record, bool, error) {
	if isHeader(f[0]) {
		return Record{}, true, nil
	}
	if len(f) < 2 {
		return Record{}, false, errors.New("want at least serial and secret")
	}
	if len(f) > 3 && !blank(f[3:]) {
		return Record{}, false, fmt.Errorf("want at most 3 columns, got %d", len(f))
	}
	if err := checkSerial(f[0]); err != nil {
		return Record{}, false, err
	}
	secret, err := otp.ParseHexSecret(f[1])
	if err != nil {
		return Record{}, false, errors.New(secretReason(err))
	}
	rec := Record{Serial: f[0], Secret: secret}
	third := ""
	if len(f) > 2 {
		third = f[2]
	}
	if format == HOTPCSV {
		rec.Type = "h" + strconv.Itoa(digits)
		if third != "" {
			n, err := strconv.ParseUint(third, 10, 63)
			if err != nil {
				return Record{}, false, errors.New("counter: not a non-negative integer")
			}
			rec.Counter = n
		}
		return rec, false, nil
	}
	rec.Type = "t" + strconv.Itoa(digits)
	rec.TOTPStep = step
	if third != "" {
		n, err := strconv.Atoi(third)
		if err != nil || (n != 30 && n != 60) {
			return Record{}, false, errors.New("step: must be 30 or 60")
		}
		rec.TOTPStep = n
	}
	return rec, false, nil
}

func yubiKeyRow(line int, f []string) (Record, bool, error) {
	first := strings.ToLower(f[0])
	if isHeader(f[0]) || strings.HasPrefix(first, "logging start") || strings.HasPrefix(first, "logging end") {
		return Record{}, true, nil
	}
	var pub, priv, key string
	switch {
	case first == "yubico otp":
		// Traditional log: event, timestamp, slot, public id, private id, key, ...
		if len(f) < 6 {
			return Record{}, false, errors.New("Yubico OTP log line: want at least 6 columns")
		}
		pub, priv, key = f[3], f[4], f[5]
	case strings.HasPrefix(first, "oath") || strings.HasPrefix(first, "static") ||
		strings.HasPrefix(first, "challenge") || strings.HasPrefix(first, "chal"):
		return Record{}, false, fmt.Errorf("a %s configuration, not Yubico OTP", f[0])
	case len(f) >= 4 && isDigits(f[0]):
		// Yubico format: serial, public id, private id, key, access code, timestamp
		pub, priv, key = f[1], f[2], f[3]
	case len(f) == 3 || (len(f) > 3 && blank(f[3:])):
		pub, priv, key = f[0], f[1], f[2]
	default:
		return Record{}, false, fmt.Errorf("unrecognised YubiKey layout with %d columns", len(f))
	}
	pub = strings.ToLower(pub)
	if pub == "" || len(pub) > 32 || !otp.IsModhex(pub) {
		return Record{}, false, errors.New("public id: must be modhex (2 to 32 characters)")
	}
	p, err := hex.DecodeString(priv)
	if err != nil || len(p) != 6 {
		return Record{}, false, errors.New("private id: must be 12 hex characters")
	}
	k, err := hex.DecodeString(key)
	if err != nil || len(k) != 16 {
		return Record{}, false, errors.New("AES key: must be 32 hex characters")
	}
	return Record{Type: "yk", Serial: pub, PrivateID: p, AESKey: k}, false, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
