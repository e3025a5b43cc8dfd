package deviceclient_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"github.com/twostep-auth/twostep/internal/deviceclient"
)

const testCode = "ABCDEFGHIJKLMNOPQRST"

func TestParseActivation(t *testing.T) {
	// MmZhLmV4YW1wbGUuY29t is "2fa.example.com"; bG9jYWxob3N0Ojg0NDM is
	// "localhost:8443".
	tests := []struct {
		give string
		want deviceclient.ActivationCode
	}{
		{testCode + "-MmZhLmV4YW1wbGUuY29t", deviceclient.ActivationCode{Code: testCode, Host: "2fa.example.com"}},
		{"  " + testCode + "-bG9jYWxob3N0Ojg0NDM  \n", deviceclient.ActivationCode{Code: testCode, Host: "localhost:8443"}},
		{"duo://" + testCode + "-bG9jYWxob3N0Ojg0NDM=", deviceclient.ActivationCode{Code: testCode, Host: "localhost:8443"}},
		{"https://2fa.example.com/activate/" + testCode + "-bG9jYWxob3N0Ojg0NDM", deviceclient.ActivationCode{Code: testCode, Host: "localhost:8443"}},
		{"https://2fa.example.com/activate/" + testCode + "-bG9jYWxob3N0Ojg0NDM/", deviceclient.ActivationCode{Code: testCode, Host: "localhost:8443"}},
		{"https://2fa.example.com:8443/activate/" + testCode, deviceclient.ActivationCode{Code: testCode, Host: "2fa.example.com:8443"}},
		{"https://2fa.example.com/frame/qr?value=" + testCode + "-bG9jYWxob3N0Ojg0NDM%3D", deviceclient.ActivationCode{Code: testCode, Host: "localhost:8443"}},
		{"HTTPS://2fa.example.com/frame/qr?value=duo%3A%2F%2F" + testCode + "-MmZhLmV4YW1wbGUuY29t", deviceclient.ActivationCode{Code: testCode, Host: "2fa.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := deviceclient.ParseActivation(tt.give)
			if err != nil {
				t.Fatalf("ParseActivation() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseActivation() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseActivationErrors(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"", "empty"},
		{"ABC-MmZhLmV4YW1wbGUuY29t", "20 letters and digits"},
		{"ABCDEFGHIJKLMNOPQRS!-MmZhLmV4YW1wbGUuY29t", "20 letters and digits"},
		{testCode, "no server part"},
		{testCode + "-!!!", "not a base64 host"},
		{testCode + "-" + "L2V0Yy9wYXNzd2Q", "not a base64 host"}, // "/etc/passwd"
		{testCode + "-" + "ZXZpbEBob3N0", "not a base64 host"},    // "evil@host"
		{"https://2fa.example.com/frame/qr", "no value parameter"},
		{"https://2fa.example.com/activate/", "no code"},
		{"https://2fa.example.com/login", "want https://HOST/activate/CODE"},
		{"https://", "malformed URL"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			_, err := deviceclient.ParseActivation(tt.give)
			if !errors.Is(err, deviceclient.ErrActivationCode) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseActivation(%q) = %v, want ErrActivationCode mentioning %q", tt.give, err, tt.want)
			}
		})
	}
}

func TestActivationCodeString(t *testing.T) {
	c := deviceclient.ActivationCode{Code: testCode, Host: "localhost:8443"}
	if got, want := c.String(), testCode+"-bG9jYWxob3N0Ojg0NDM"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// qrPNG draws text as a QR code PNG, as /frame/qr does.
func qrPNG(t *testing.T, text string) []byte {
	t.Helper()
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	code, err = barcode.Scale(code, 300, 300)
	if err != nil {
		t.Fatal(err)
	}
	// A quiet zone, as real barcodes have.
	img := image.NewGray(image.Rect(0, 0, 340, 340))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range 300 {
		for x := range 300 {
			img.Set(x+20, y+20, code.At(x, y))
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeQR(t *testing.T) {
	want := "duo://" + testCode + "-MmZhLmV4YW1wbGUuY29t"
	got, err := deviceclient.DecodeQR(bytes.NewReader(qrPNG(t, want)))
	if err != nil {
		t.Fatalf("DecodeQR() error = %v", err)
	}
	if got != want {
		t.Errorf("DecodeQR() = %q, want %q", got, want)
	}
	if _, err := deviceclient.DecodeQR(strings.NewReader("not an image")); err == nil || !strings.Contains(err.Error(), "not a PNG") {
		t.Errorf("DecodeQR(text) = %v, want a not-an-image error", err)
	}
	blank := image.NewGray(image.Rect(0, 0, 100, 100))
	for i := range blank.Pix {
		blank.Pix[i] = 0xff
	}
	blank.Set(50, 50, color.Black)
	var b bytes.Buffer
	png.Encode(&b, blank)
	if _, err := deviceclient.DecodeQR(&b); !errors.Is(err, deviceclient.ErrNoQR) {
		t.Errorf("DecodeQR(blank) = %v, want ErrNoQR", err)
	}
}
