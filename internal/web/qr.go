package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"unicode/utf8"

	"github.com/boombuler/barcode/qr"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// QR codes (Duo's /frame/qr?value=..., the activation_barcode).
const (
	// MaxQRValue bounds value, in bytes: an activation code is about 50.
	MaxQRValue = 512
	// qrQuiet is the quiet zone around the code, in modules (the QR
	// standard asks for 4).
	qrQuiet = 4
	// qrTargetPixels is roughly how wide the image is.
	qrTargetPixels = 320
)

// qr answers a PNG QR code of the value parameter. The value is usually a
// secret (an activation code), so the image is never cached.
func (s *Site) qr(w http.ResponseWriter, r *http.Request) error {
	value := r.URL.Query().Get("value")
	switch {
	case value == "":
		return mfa.InvalidField("value", "required")
	case len(value) > MaxQRValue:
		return mfa.InvalidField("value", fmt.Sprintf("longer than %d bytes", MaxQRValue))
	case !utf8.ValidString(value):
		return mfa.InvalidField("value", "not valid UTF-8")
	}
	img, err := QRCode(value)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return fmt.Errorf("qr png: %w", err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
	return nil
}

// QRCode draws value as a black-on-white QR code (error correction level
// M) with a quiet zone, each module a square of whole pixels.
func QRCode(value string) (image.Image, error) {
	code, err := qr.Encode(value, qr.M, qr.Auto)
	if err != nil {
		return nil, mfa.Wrap(mfa.Invalid, "value cannot be put in a QR code", err)
	}
	n := code.Bounds().Dx()
	side := n + 2*qrQuiet
	scale := max(2, qrTargetPixels/side)
	img := image.NewPaletted(image.Rect(0, 0, side*scale, side*scale), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if c, _, _, _ := code.At(code.Bounds().Min.X+x, code.Bounds().Min.Y+y).RGBA(); c != 0 {
				continue // light module: the background
			}
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex((x+qrQuiet)*scale+dx, (y+qrQuiet)*scale+dy, 1)
				}
			}
		}
	}
	return img, nil
}

// QRDataURI draws value as a QR code and returns it as a data: URL of a
// PNG, for an <img> that shows a secret (an otpauth:// URI, an activation
// code) without putting the secret in any URL the browser requests or
// logs. The CSP allows data: images.
func QRDataURI(value string) (template.URL, error) {
	img, err := QRCode(value)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return "", fmt.Errorf("qr png: %w", err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), nil
}
