package adminapi

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// Logs: DUO-WIRE.md 3.6. The v2 cursor next_offset is ["<ts_ms>", "<txid>"]
// as Duo sends it; because records keep microseconds, ts_ms carries a
// fraction (".123") when the record's time is not a whole millisecond, so
// that a page never repeats or skips a record. Clients echo it unchanged.

func (h *Handler) logRoutes() []route {
	return []route{
		{"GET /admin/v2/logs/authentication", h.authLogV2},
		{"GET /admin/v1/logs/authentication", h.authLogV1},
		{"GET /admin/v1/logs/administrator", h.adminLogV1},
		{"GET /admin/v1/logs/telephony", h.telephonyLogV1},
	}
}

// unsupportedAuthLogFilters are Duo filters twostep has no data for.
var unsupportedAuthLogFilters = []string{"event_types", "phone_numbers", "token_id", "webauthnkey",
	"registration_id", "assessment", "detections"}

// msParam parses a required millisecond timestamp.
func msParam(c *api.Caller, name string) (time.Time, error) {
	v, err := required(c, name)
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return time.Time{}, badParam(name, "must be a Unix time in milliseconds")
	}
	return time.UnixMilli(ms), nil
}

// secondsParam parses an optional Unix time in seconds (default 0).
func secondsParam(c *api.Caller, name string) (time.Time, error) {
	v := strings.TrimSpace(c.Param(name))
	if v == "" {
		return time.Unix(0, 0), nil
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil || s < 0 || s > math.MaxInt64/int64(time.Second) {
		return time.Time{}, badParam(name, "must be a Unix time in seconds")
	}
	return time.Unix(s, 0), nil
}

// formatOffsetTime renders a cursor time as milliseconds, with a
// fraction only when needed.
func formatOffsetTime(t time.Time) string {
	us := t.UnixMicro()
	if us%1000 == 0 {
		return strconv.FormatInt(us/1000, 10)
	}
	return strconv.FormatInt(us/1000, 10) + "." + strconv.FormatInt(1000+us%1000, 10)[1:]
}

// parseNextOffset reads "ts_ms,txid", or the two values sent separately.
func parseNextOffset(c *api.Caller) (time.Time, string, error) {
	vals := c.Params.Params["next_offset"]
	var parts []string
	for _, v := range vals {
		parts = append(parts, strings.Split(v, ",")...)
	}
	if len(parts) == 0 {
		return time.Time{}, "", nil
	}
	if len(parts) != 2 || strings.TrimSpace(parts[1]) == "" {
		return time.Time{}, "", badParam("next_offset", "must be \"<ts_ms>,<txid>\" from a previous response")
	}
	whole, frac, hasFrac := strings.Cut(strings.TrimSpace(parts[0]), ".")
	ms, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return time.Time{}, "", badParam("next_offset", "bad timestamp")
	}
	us := ms * 1000
	if hasFrac {
		f, err := strconv.Atoi(frac)
		if err != nil || len(frac) != 3 || f < 0 {
			return time.Time{}, "", badParam("next_offset", "bad timestamp")
		}
		us += int64(f)
	}
	return time.UnixMicro(us), strings.TrimSpace(parts[1]), nil
}

// authLogV2 is one authentication-log record, the shape internal/api
// shares with the Universal Prompt's id_token auth_context.
type authLogV2 = api.AuthLogRecord

func newAuthLogV2(e mfa.AuthLogEntry) authLogV2 { return api.NewAuthLogRecord(e) }

type logLocation = api.LogLocation

type authLogV2Page struct {
	AuthLogs []authLogV2      `json:"authlogs"`
	Metadata authLogV2Metadat `json:"metadata"`
}

type authLogV2Metadat struct {
	NextOffset   []string `json:"next_offset,omitempty"`
	TotalObjects int      `json:"total_objects"`
}

func (h *Handler) authLogV2(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	var f mfa.AuthLogFilter
	var err error
	if f.MinTime, err = msParam(c, "mintime"); err != nil {
		return err
	}
	if f.MaxTime, err = msParam(c, "maxtime"); err != nil {
		return err
	}
	// maxtime is inclusive to the millisecond; records keep microseconds.
	f.MaxTime = f.MaxTime.Add(time.Millisecond - time.Microsecond)
	if f.Limit, err = intParam(c, "limit", 100, 1, admin.MaxAuthLogLimit); err != nil {
		return err
	}
	switch s := strings.TrimSpace(c.Param("sort")); s {
	case "", "ts:desc":
		f.Descending = true
	case "ts:asc":
	default:
		return badParam("sort", "must be ts:desc or ts:asc")
	}
	if f.AfterTime, f.AfterTxID, err = parseNextOffset(c); err != nil {
		return err
	}
	for _, name := range unsupportedAuthLogFilters {
		if has(c, name) {
			return badParam(name, "filter not supported by twostep")
		}
	}
	if f.UserIDs, err = listParam(c, "users"); err != nil {
		return err
	}
	if f.IKeys, err = listParam(c, "applications"); err != nil {
		return err
	}
	results, err := listParam(c, "results")
	if err != nil {
		return err
	}
	for _, res := range results {
		f.Results = append(f.Results, mfa.AuthResult(strings.ToLower(res)))
	}
	if f.Reasons, err = listParam(c, "reasons"); err != nil {
		return err
	}
	if f.Factors, err = listParam(c, "factors"); err != nil {
		return err
	}
	groups, err := listParam(c, "groups")
	if err != nil {
		return err
	}
	out := authLogV2Page{AuthLogs: []authLogV2{}}
	if len(groups) > 0 {
		// The groups filter keeps the records of the groups' current
		// members (and, with users, of those among them).
		members, err := h.svc.GroupMemberIDs(r.Context(), actor(c), groups)
		if err != nil {
			return err
		}
		if len(f.UserIDs) > 0 {
			members = slices.DeleteFunc(members, func(id string) bool { return !slices.Contains(f.UserIDs, id) })
		}
		if len(members) == 0 {
			// Nobody matches. Authorize all the same.
			if _, err := h.svc.AdminLog(r.Context(), actor(c), mfa.LogFilter{MinTime: time.Now(), Limit: 1}); err != nil {
				return err
			}
			duoproto.WriteOK(w, out)
			return nil
		}
		f.UserIDs = members
	}
	entries, total, err := h.svc.AuthLog(r.Context(), actor(c), f)
	if err != nil {
		return err
	}
	for _, e := range entries {
		out.AuthLogs = append(out.AuthLogs, newAuthLogV2(e))
	}
	out.Metadata.TotalObjects = total
	if len(entries) == f.Limit {
		last := entries[len(entries)-1]
		out.Metadata.NextOffset = []string{formatOffsetTime(last.Time), last.TxID}
	}
	duoproto.WriteOK(w, out)
	return nil
}

type authLogV1 struct {
	Timestamp     int64       `json:"timestamp"`
	Username      string      `json:"username"`
	Factor        string      `json:"factor"`
	Result        string      `json:"result"`
	Reason        string      `json:"reason"`
	IP            string      `json:"ip"`
	Integration   string      `json:"integration"`
	NewEnrollment bool        `json:"new_enrollment"`
	Device        string      `json:"device"`
	Location      logLocation `json:"location"`
}

func (h *Handler) authLogV1(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	min, err := secondsParam(c, "mintime")
	if err != nil {
		return err
	}
	entries, _, err := h.svc.AuthLog(r.Context(), actor(c), mfa.AuthLogFilter{MinTime: min, Limit: admin.MaxV1LogRecords})
	if err != nil {
		return err
	}
	out := make([]authLogV1, 0, len(entries))
	for _, e := range entries {
		out = append(out, authLogV1{Timestamp: e.Time.Unix(), Username: e.Username, Factor: e.Factor,
			Result: string(e.Result), Reason: e.Reason, IP: e.IP, Integration: e.IntegrationName,
			NewEnrollment: e.EventType == "enrollment", Device: e.DeviceName})
	}
	duoproto.WriteOK(w, out)
	return nil
}

type adminLogV1 struct {
	Timestamp   int64  `json:"timestamp"`
	Username    string `json:"username"`
	Action      string `json:"action"`
	Object      string `json:"object"`
	Description string `json:"description"`
}

func (h *Handler) adminLogV1(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	min, err := secondsParam(c, "mintime")
	if err != nil {
		return err
	}
	entries, err := h.svc.AdminLog(r.Context(), actor(c), mfa.LogFilter{MinTime: min, Limit: admin.MaxV1LogRecords})
	if err != nil {
		return err
	}
	out := make([]adminLogV1, 0, len(entries))
	for _, e := range entries {
		out = append(out, adminLogV1{Timestamp: e.Time.Unix(), Username: e.Actor, Action: e.Action,
			Object: e.Object, Description: e.Description})
	}
	duoproto.WriteOK(w, out)
	return nil
}

type telephonyLogV1 struct {
	Timestamp int64  `json:"timestamp"`
	Context   string `json:"context"`
	Type      string `json:"type"`
	Phone     string `json:"phone"`
	Credits   int    `json:"credits"`
}

func (h *Handler) telephonyLogV1(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	min, err := secondsParam(c, "mintime")
	if err != nil {
		return err
	}
	entries, err := h.svc.TelephonyLog(r.Context(), actor(c), mfa.LogFilter{MinTime: min, Limit: admin.MaxV1LogRecords})
	if err != nil {
		return err
	}
	out := make([]telephonyLogV1, 0, len(entries))
	for _, e := range entries {
		out = append(out, telephonyLogV1{Timestamp: e.Time.Unix(), Context: e.Context, Type: e.Type,
			Phone: e.Phone, Credits: e.Credits})
	}
	duoproto.WriteOK(w, out)
	return nil
}
