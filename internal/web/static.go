package web

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/twostep-auth/twostep/internal/mfa"
)

// DefaultBrandColor is the brand colour when none is configured.
const DefaultBrandColor = "#1d4ed8"

// staticCache is the caching of the static files: they change only with
// the binary (or the configuration, for the logo and the brand colour).
const staticCache = "public, max-age=3600"

func (s *Site) stylesheet(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", staticCache)
	w.Write(s.css)
	return nil
}

func (s *Site) staticFile(name, contentType string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		b, err := files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("static %s: %w", name, err)
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", staticCache)
		w.Write(b)
		return nil
	}
}

// logoPNG answers the configured logo (404 when there is none: the pages
// then show /static/mark.svg).
func (s *Site) logoPNG(w http.ResponseWriter, r *http.Request) error {
	if s.logo == nil {
		return mfa.E(mfa.NotFound, "no logo")
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", staticCache)
	w.Write(s.logo)
	return nil
}

// stylesheet returns twostep.css with the brand colours for brand
// ("#rrggbb") in front: the text colour on brand buttons, and the link
// colours of the light and dark schemes, chosen for WCAG AA contrast.
func stylesheet(brand string) ([]byte, error) {
	c, err := parseColor(brand)
	if err != nil {
		return nil, err
	}
	base, err := files.ReadFile("static/twostep.css")
	if err != nil {
		return nil, err
	}
	onBrand := "#ffffff"
	if contrast(c, rgb{255, 255, 255}) < 4.5 {
		onBrand = "#111111"
	}
	linkLight, linkDark := "#1d4ed8", "#8ab4f8"
	if contrast(c, rgb{255, 255, 255}) >= 4.5 {
		linkLight = brand
	}
	if contrast(c, rgb{0x16, 0x1b, 0x22}) >= 4.5 {
		linkDark = brand
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "/* brand (web.brand_color) */\n:root { --brand: %s; --on-brand: %s; --link: %s; }\n", brand, onBrand, linkLight)
	fmt.Fprintf(&b, "@media (prefers-color-scheme: dark) { :root { --link: %s; } }\n\n", linkDark)
	b.Write(base)
	return b.Bytes(), nil
}

type rgb struct{ r, g, b uint8 }

// parseColor parses "#rrggbb".
func parseColor(s string) (rgb, error) {
	if len(s) != 7 || s[0] != '#' || strings.ContainsAny(s[1:], "+-") {
		return rgb{}, fmt.Errorf("brand colour %q: want #rrggbb", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return rgb{}, fmt.Errorf("brand colour %q: want #rrggbb", s)
	}
	return rgb{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// contrast is the WCAG contrast ratio of two colours.
func contrast(a, b rgb) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c rgb) float64 {
	ch := func(v uint8) float64 {
		f := float64(v) / 255
		if f <= 0.03928 {
			return f / 12.92
		}
		return math.Pow((f+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.r) + 0.7152*ch(c.g) + 0.0722*ch(c.b)
}
