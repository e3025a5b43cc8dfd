package adminapi

import (
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
)

// Account information: /admin/v1/info/*, read with adminapi_info.
// mintime and maxtime are Unix times in seconds (default: the last 30
// days), inclusive, echoed back as Duo does.

func (h *Handler) infoRoutes() []route {
	return []route{
		{"GET /admin/v1/info/summary", h.infoSummary},
		{"GET /admin/v1/info/telephony_credits_used", h.infoTelephonyCredits},
		{"GET /admin/v1/info/authentication_attempts", h.infoAuthAttempts},
		{"GET /admin/v1/info/user_authentication_attempts", h.infoUserAuthAttempts},
	}
}

type infoSummary struct {
	AdminCount                int  `json:"admin_count"`
	IntegrationCount          int  `json:"integration_count"`
	TelephonyCreditsRemaining *int `json:"telephony_credits_remaining"` // null: twostep has no credit balance
	UserCount                 int  `json:"user_count"`
	UserPendingDeletionCount  int  `json:"user_pending_deletion_count"` // 0: deletions are immediate
}

func (h *Handler) infoSummary(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	sum, err := h.svc.Summary(r.Context(), actor(c))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, infoSummary{AdminCount: sum.Admins, IntegrationCount: sum.Integrations, UserCount: sum.Users})
	return nil
}

// infoWindow parses mintime and maxtime (seconds; default the last 30
// days up to now).
func (h *Handler) infoWindow(c *api.Caller) (min, max time.Time, err error) {
	now := h.now()
	max = now
	if has(c, "maxtime") {
		if max, err = secondsParam(c, "maxtime"); err != nil {
			return
		}
	}
	min = max.Add(-30 * 24 * time.Hour)
	if has(c, "mintime") {
		if min, err = secondsParam(c, "mintime"); err != nil {
			return
		}
	}
	if max.Before(min) {
		err = badParam("maxtime", "must not be before mintime")
	}
	return min, max, err
}

func (h *Handler) infoTelephonyCredits(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	min, max, err := h.infoWindow(c)
	if err != nil {
		return err
	}
	used, err := h.svc.TelephonyCreditsUsed(r.Context(), actor(c), min, max.Add(time.Second-time.Microsecond))
	if err != nil {
		return err
	}
	duoproto.WriteOK(w, map[string]any{"mintime": min.Unix(), "maxtime": max.Unix(), "telephony_credits_used": used})
	return nil
}

func (h *Handler) infoAuthAttempts(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return h.infoAttempts(w, r, c, "authentication_attempts")
}

func (h *Handler) infoUserAuthAttempts(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	return h.infoAttempts(w, r, c, "user_authentication_attempts")
}

func (h *Handler) infoAttempts(w http.ResponseWriter, r *http.Request, c *api.Caller, key string) error {
	min, max, err := h.infoWindow(c)
	if err != nil {
		return err
	}
	attempts, users, err := h.svc.AuthAttempts(r.Context(), actor(c), min, max.Add(time.Second-time.Microsecond))
	if err != nil {
		return err
	}
	counts := attempts
	if key == "user_authentication_attempts" {
		counts = users
	}
	duoproto.WriteOK(w, map[string]any{"mintime": min.Unix(), "maxtime": max.Unix(), key: counts})
	return nil
}
