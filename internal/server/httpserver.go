package server

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/authflow"
	"github.com/twostep-auth/twostep/internal/web/prompt"
)

// WriteTimeout bounds writing an ordinary answer: the connection's write
// deadline, set by net/http when the request's headers are read.
const WriteTimeout = 90 * time.Second

// LongPollWriteTimeout is the write deadline of the routes that wait for a
// user or a device (longPollRoutes): the longest wait any of them may be
// configured for (a synchronous push or call waits up to the largest
// push_timeout_seconds accepted, 300 s) plus a margin for the work around
// it. The handlers end their own waits; this deadline only bounds writing
// the answer to a client that stops reading.
const LongPollWriteTimeout = time.Duration(admin.MaxPushTimeoutSeconds)*time.Second + longPollMargin

const longPollMargin = 60 * time.Second

// longPollRoutes are the requests that may block beyond WriteTimeout:
// synchronous pushes and calls (Auth API v2 and legacy v1), auth_status
// and legacy status polls, the app's transaction long poll and the
// prompt's push status. Matched by
// method and path before routing, so that the deadline is set before the
// handler starts.
var longPollRoutes = map[string]bool{
	"POST /auth/v2/auth":               true,
	"GET /auth/v2/auth_status":         true,
	"POST /rest/v1/auth.json":          true,
	"POST /rest/v1/auth.bson":          true,
	"GET /rest/v1/status.json":         true,
	"GET /rest/v1/status.bson":         true,
	"GET /push/v2/device/transactions": true,
	"GET " + prompt.StatusPath:         true, // the prompt's live push status
}

// The waits that longPollRoutes allow for, checked at compile time to fit
// under LongPollWriteTimeout without the margin.
const (
	_ = uint64(time.Duration(admin.MaxPushTimeoutSeconds)*time.Second - authflow.StatusPollWait)
	_ = uint64(time.Duration(admin.MaxPushTimeoutSeconds)*time.Second - authflow.MaxDeviceWait)
)

// extendLongPoll moves the write deadline of a long-poll request to
// LongPollWriteTimeout from now. Writers that cannot (httptest recorders)
// have no deadline to move.
func extendLongPoll(w http.ResponseWriter, r *http.Request, now time.Time) {
	if !longPollRoutes[r.Method+" "+r.URL.Path] {
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(now.Add(LongPollWriteTimeout))
}

// NewHTTPServer is the http.Server twostepd serves h with: its timeouts,
// header limit and error log. Long polls get a longer write deadline per
// request (see LongPollWriteTimeout).
func NewHTTPServer(h http.Handler, tlsConfig *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}
