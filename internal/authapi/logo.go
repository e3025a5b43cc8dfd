package authapi

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/twostep-auth/twostep/internal/api"
)

// defaultLogo is twostep's own logo (128x128 PNG), answered when the
// operator configured none (config logo_file).
//
//go:embed logo.png
var defaultLogo []byte

// logo answers GET /auth/v2/logo: the configured PNG as the raw body with
// Content-Type image/png. Duo's Go client takes any 200 as the image;
// Python's checks that the Content-Type starts with image/.
func (h *Handler) logo(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	img := h.logoPNG
	if len(img) == 0 {
		img = defaultLogo
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/png")
	hd.Set("Content-Length", strconv.Itoa(len(img)))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(img)
	return nil
}
