package deviceclient

import (
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // QR screenshots come in any format
	_ "image/jpeg" // (PNG is the usual one)
	_ "image/png"
	"io"
	"net/url"
	"strings"
	"unicode"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// CodeLength is the length of an activation code's random part.
const CodeLength = 20

const codeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// ErrActivationCode is wrapped by every ParseActivation error.
var ErrActivationCode = errors.New("not an activation code")

// ActivationCode is a parsed activation code: its random part and the
// server it is for.
type ActivationCode struct {
	Code string // CodeLength characters of A-Za-z0-9
	Host string // the server's API host, "host" or "host:port"
}

// String is the full code, "<CODE>-<HOST64>".
func (c ActivationCode) String() string {
	return c.Code + "-" + base64.RawStdEncoding.EncodeToString([]byte(c.Host))
}

func codeError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrActivationCode}, args...)...)
}

// ParseActivation reads an activation code in any form it reaches people:
//
//	<CODE>-<HOST64>                              (Auth API enroll, the QR's content)
//	duo://<CODE>-<HOST64>
//	https://<host>/activate/<CODE>-<HOST64>      (Admin API activation_url)
//	https://<host>/frame/qr?value=<CODE>-<HOST64> (activation_barcode)
//
// HOST64 is the API host in standard base64, padding optional. A page URL
// whose code has no HOST64 part is taken to be for the URL's own host.
func ParseActivation(s string) (ActivationCode, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ActivationCode{}, codeError("empty")
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		return parseActivationURL(s)
	}
	return parseCode(s, "")
}

func parseActivationURL(s string) (ActivationCode, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ActivationCode{}, codeError("malformed URL")
	}
	path := u.EscapedPath()
	switch {
	case strings.HasSuffix(strings.TrimSuffix(path, "/"), "/frame/qr"):
		v := u.Query().Get("value")
		if v == "" {
			return ActivationCode{}, codeError("the barcode URL has no value parameter")
		}
		return parseCode(v, u.Host)
	case strings.Contains(path, "/activate/"):
		_, rest, _ := strings.Cut(path, "/activate/")
		rest = strings.TrimSuffix(rest, "/")
		code, err := url.PathUnescape(rest)
		if err != nil || code == "" {
			return ActivationCode{}, codeError("the activation URL has no code after /activate/")
		}
		return parseCode(code, u.Host)
	}
	return ActivationCode{}, codeError("URL path %q: want https://HOST/activate/CODE or https://HOST/frame/qr?value=CODE", u.Path)
}

// parseCode reads "<CODE>-<HOST64>", or a bare CODE when urlHost is known.
func parseCode(s, urlHost string) (ActivationCode, error) {
	s = strings.TrimSpace(s)
	if len(s) > 6 && strings.EqualFold(s[:6], "duo://") {
		s = s[6:]
	}
	code, host64, hasHost := strings.Cut(s, "-")
	if len(code) != CodeLength || strings.Trim(code, codeAlphabet) != "" {
		return ActivationCode{}, codeError("want %d letters and digits, a dash and the server's address in base64 (as in ABCDEFGHIJKLMNOPQRST-MmZhLmV4YW1wbGUuY29t)", CodeLength)
	}
	if !hasHost {
		if urlHost == "" {
			return ActivationCode{}, codeError("no server part after the code (want CODE-HOST64)")
		}
		return ActivationCode{Code: code, Host: urlHost}, nil
	}
	host64 = strings.TrimRight(host64, "=")
	raw, err := base64.RawStdEncoding.DecodeString(host64)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(host64)
	}
	if err != nil || !validHost(string(raw)) {
		return ActivationCode{}, codeError("the server part after the dash is not a base64 host name")
	}
	return ActivationCode{Code: code, Host: string(raw)}, nil
}

// validHost accepts "host" and "host:port" (IPv6 in brackets) and nothing
// that would change a URL's meaning.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	if strings.ContainsAny(h, "/?#@\\%") || strings.IndexFunc(h, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII
	}) >= 0 {
		return false
	}
	u, err := url.Parse("https://" + h + "/")
	return err == nil && u.Host == h && u.Hostname() != ""
}

// ErrNoQR means an image holds no readable QR code.
var ErrNoQR = errors.New("no QR code found in the image")

// DecodeQR returns the text of the QR code in an image (PNG, JPEG or
// GIF), such as a saved activation barcode or a site's 2FA setup QR.
func DecodeQR(r io.Reader) (string, error) {
	img, _, err := image.Decode(io.LimitReader(r, 32<<20))
	if err != nil {
		return "", fmt.Errorf("not a PNG, JPEG or GIF image: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoQR, err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		// A clean, generated barcode decodes best without the detector.
		hints[gozxing.DecodeHintType_PURE_BARCODE] = true
		if res, err = qrcode.NewQRCodeReader().Decode(bmp, hints); err != nil {
			return "", ErrNoQR
		}
	}
	return res.GetText(), nil
}
