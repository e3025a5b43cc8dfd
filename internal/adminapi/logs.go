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

// Logs: DUO-WIRE.md 3.6. The v2 authentication log's cursor next_offset
// is ["<ts_ms>", "<txid>"] as Duo documents it: the integer millisecond of
// the page's last record and its txid. Records keep microseconds, so the
// cursor is resolved to the exact record it names (its txid within that
// millisecond), and a page never repeats or skips a record. The cursor
// of earlier twostep versions, with a fraction ("<ms>.<us>"), is still
// accepted. next_offset is present whenever a page has records (also the
// last one), as duo_log_sync expects: it keeps the last next_offset it got
// as its checkpoint, and asks again from there.

func (h *Handler) logRoutes() []route {
	return []route{
		{"GET /admin/v2/logs/authentication", h.authLogV2},
		{"GET /admin/v1/logs/authentication", h.authLogV1},
		{"GET /admin/v1/logs/administrator", h.adminLogV1},
		{"GET /admin/v1/logs/telephony", h.telephonyLogV1},
		{"GET /admin/v2/logs/telephony", h.telephonyLogV2},
		{"GET /admin/v2/logs/activity", h.activityLogV2},
	}
}

// unsupportedAuthLogFilters are Duo filters twostep has no data for
// (WebAuthn keys, Duo Desktop registrations, Duo's risk assessments).
var unsupportedAuthLogFilters = []string{"webauthnkey", "registration_id", "assessment", "detections"}

// authLogEventTypes are the event_types values.
var authLogEventTypes = []string{"authentication", "enrollment"}

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

// parseNextOffset reads "ts_ms,txid", or the two values sent separately;
// exact is true for the fraction form of earlier twostep versions, whose
// time needs no resolving.
func parseNextOffset(c *api.Caller) (t time.Time, txid string, exact bool, err error) {
	vals := c.Params.Params["next_offset"]
	var parts []string
	for _, v := range vals {
		parts = append(parts, strings.Split(v, ",")...)
	}
	if len(parts) == 0 {
		return time.Time{}, "", false, nil
	}
	if len(parts) != 2 || strings.TrimSpace(parts[1]) == "" {
		return time.Time{}, "", false, badParam("next_offset", "must be \"<ts_ms>,<txid>\" from a previous response")
	}
	whole, frac, hasFrac := strings.Cut(strings.TrimSpace(parts[0]), ".")
	ms, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return time.Time{}, "", false, badParam("next_offset", "bad timestamp")
	}
	us := ms * 1000
	if hasFrac {
		f, err := strconv.Atoi(frac)
		if err != nil || len(frac) != 3 || f < 0 {
			return time.Time{}, "", false, badParam("next_offset", "bad timestamp")
		}
		us += int64(f)
	}
	return time.UnixMicro(us), strings.TrimSpace(parts[1]), hasFrac, nil
}

// resolveAuthLogCursor turns Duo's integer-millisecond cursor into the
// exact position of the record it names: the record with that txid within
// that millisecond. When there is none (a forged or expired cursor), the
// listing continues from the start of that millisecond going up, its end
// going down: it may then repeat a record, never skip one.
func (h *Handler) resolveAuthLogCursor(r *http.Request, c *api.Caller, f *mfa.AuthLogFilter, exact bool) error {
	if f.AfterTime.IsZero() || exact {
		return nil
	}
	ms := f.AfterTime
	got, _, err := h.svc.AuthLog(r.Context(), actor(c), mfa.AuthLogFilter{MinTime: ms,
		MaxTime: ms.Add(time.Millisecond - time.Microsecond), TxIDs: []string{f.AfterTxID}, Limit: 1})
	switch {
	case err != nil:
		return err
	case len(got) == 1:
		f.AfterTime = got[0].Time
	case f.Descending:
		f.AfterTime = ms.Add(time.Millisecond - time.Microsecond)
	}
	return nil
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
	var exact bool
	if f.AfterTime, f.AfterTxID, exact, err = parseNextOffset(c); err != nil {
		return err
	}
	for _, name := range unsupportedAuthLogFilters {
		if has(c, name) {
			return badParam(name, "filter not supported by twostep")
		}
	}
	if f.EventTypes, err = listParam(c, "event_types"); err != nil {
		return err
	}
	for _, e := range f.EventTypes {
		if !slices.Contains(authLogEventTypes, e) {
			return badParam("event_types", "%q is not authentication or enrollment", e)
		}
	}
	// phone_numbers and token_id select the device that answered; given
	// both, a record must match both (Duo's filters combine with AND).
	phones, err := listParam(c, "phone_numbers")
	if err != nil {
		return err
	}
	tokens, err := listParam(c, "token_id")
	if err != nil {
		return err
	}
	noDevice := false
	if len(phones) > 0 {
		if f.DeviceIDs, err = h.svc.PhoneIDsByNumber(r.Context(), actor(c), phones); err != nil {
			return err
		}
		noDevice = len(f.DeviceIDs) == 0
	}
	if len(tokens) > 0 {
		if len(phones) > 0 {
			f.DeviceIDs = slices.DeleteFunc(f.DeviceIDs, func(id string) bool { return !slices.Contains(tokens, id) })
			noDevice = len(f.DeviceIDs) == 0
		} else {
			f.DeviceIDs = tokens
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
	if noDevice {
		// No such phone: nothing matches. Authorize all the same.
		if _, err := h.svc.AdminLog(r.Context(), actor(c), mfa.LogFilter{MinTime: time.Now(), Limit: 1}); err != nil {
			return err
		}
		duoproto.WriteOK(w, out)
		return nil
	}
	if err := h.resolveAuthLogCursor(r, c, &f, exact); err != nil {
		return err
	}
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
	// user.groups: the names of the groups each user is in now.
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.UserID)
	}
	groupsOf, err := h.svc.AuthLogGroups(r.Context(), actor(c), ids)
	if err != nil {
		return err
	}
	for _, e := range entries {
		rec := newAuthLogV2(e)
		if names, ok := groupsOf[e.UserID]; ok {
			rec.User.Groups = names
		}
		out.AuthLogs = append(out.AuthLogs, rec)
	}
	out.Metadata.TotalObjects = total
	if len(entries) > 0 {
		last := entries[len(entries)-1]
		out.Metadata.NextOffset = []string{strconv.FormatInt(last.Time.UnixMilli(), 10), last.TxID}
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
	// twostep's: the carrier's latest delivery status and its id of the
	// message or call ("" when unknown).
	Status    string `json:"status"`
	CarrierID string `json:"carrier_id"`
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
			Phone: e.Phone, Credits: e.Credits, Status: e.Status, CarrierID: e.CarrierID})
	}
	duoproto.WriteOK(w, out)
	return nil
}
