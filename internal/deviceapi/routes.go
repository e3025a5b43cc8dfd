package deviceapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/authflow"
)

// Handler serves the device API.
type Handler struct {
	flow *authflow.Service
	now  func() time.Time
	log  *slog.Logger
	host string // the public API host handed to apps
	skew time.Duration
	logo string // base64 PNG shown by apps; may be empty
}

// Deps are the device API's dependencies.
type Deps struct {
	Flow   *authflow.Service
	Now    func() time.Time
	Logger *slog.Logger
	// PublicHost is the API host apps are told to call (host or host:port).
	PublicHost string
	// Skew is the allowed clock difference of signed requests; 0 means
	// duoproto.DefaultSkew (300 s).
	Skew time.Duration
	// LogoBase64 is the customer logo sent at activation.
	LogoBase64 string
}

// New makes the handler.
func New(d Deps) *Handler {
	return &Handler{flow: d.Flow, now: d.Now, log: d.Logger, host: d.PublicHost, skew: d.Skew, logo: d.LogoBase64}
}

// Register adds every device API route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /push/v2/activation/{code}", h.handle(h.activate))
	mux.Handle("GET /push/v2/device/transactions", h.signed(h.transactions))
	mux.Handle("POST /push/v2/device/transactions/{urgid}", h.signed(h.answer))
	mux.Handle("DELETE /push/v2/device", h.signed(h.deregister))
}
