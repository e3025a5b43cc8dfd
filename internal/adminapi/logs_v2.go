package adminapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/api"
	"github.com/twostep-auth/twostep/internal/duoproto"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// The v2 telephony and activity logs (duo_client_python's
// get_telephony_log(api_version=2) and get_activity_logs, duo_log_sync's
// telephony and activity producers): mintime and maxtime in milliseconds,
// limit (default 100, at most 1000), sort ts:desc (default) or ts:asc,
// and next_offset, a string "<ts_ms>,<id>" naming the last record of the
// previous page. Records are listed in the order they were written (by
// id), which is their time order; the cursor's id alone positions the
// next page, so a page never repeats or skips a record, and next_offset is
// present whenever a page has records (duo_log_sync keeps the last one as
// its checkpoint and asks again from there). ts is ISO 8601 with
// microseconds, as duo_log_sync parses it.

// isoMicro is Duo's ISO 8601 form with microseconds.
const isoMicro = "2006-01-02T15:04:05.000000+00:00"

// logV2Query is a parsed v2 log request.
type logV2Query struct {
	filter mfa.LogFilter
	limit  int
}

// parseLogV2 reads mintime, maxtime, limit, sort and next_offset.
func parseLogV2(c *api.Caller) (logV2Query, error) {
	var q logV2Query
	var err error
	if q.filter.MinTime, err = msParam(c, "mintime"); err != nil {
		return q, err
	}
	max, err := msParam(c, "maxtime")
	if err != nil {
		return q, err
	}
	if max.Before(q.filter.MinTime) {
		return q, badParam("maxtime", "must not be before mintime")
	}
	// maxtime is inclusive to the millisecond; records keep microseconds.
	q.filter.MaxTime = max.Add(time.Millisecond - time.Microsecond)
	if q.limit, err = intParam(c, "limit", 100, 1, admin.MaxAuthLogLimit); err != nil {
		return q, err
	}
	switch s := strings.TrimSpace(c.Param("sort")); s {
	case "", "ts:desc":
		q.filter.Descending = true
	case "ts:asc":
	default:
		return q, badParam("sort", "must be ts:desc or ts:asc")
	}
	if vals := c.Params.Params["next_offset"]; len(vals) > 0 {
		parts := strings.Split(strings.Join(vals, ","), ",")
		if len(parts) != 2 {
			return q, badParam("next_offset", `must be "<ts_ms>,<id>" from a previous response`)
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(parts[0]), 10, 64); err != nil {
			return q, badParam("next_offset", "bad timestamp")
		}
		id, err := strconv.ParseInt(strings.TrimSpace(parts[1]), 10, 64)
		if err != nil || id <= 0 {
			return q, badParam("next_offset", "bad record id")
		}
		q.filter.AfterID = id
	}
	// One more than asked, to tell whether more records follow.
	q.filter.Limit = q.limit + 1
	return q, nil
}

// logV2Total is Duo's total_objects of the v2 telephony and activity
// logs. twostep does not count the whole range: value is a lower bound
// (this page, plus one when more follow), hence relation "gte".
type logV2Total struct {
	Relation string `json:"relation"`
	Value    int    `json:"value"`
}

type logV2Metadata struct {
	NextOffset   *string    `json:"next_offset"`
	TotalObjects logV2Total `json:"total_objects"`
}

func logV2Meta(n int, more bool, lastTime time.Time, lastID int64) logV2Metadata {
	m := logV2Metadata{TotalObjects: logV2Total{Relation: "gte", Value: n}}
	if more {
		m.TotalObjects.Value++
	}
	if n > 0 {
		next := strconv.FormatInt(lastTime.UnixMilli(), 10) + "," + strconv.FormatInt(lastID, 10)
		m.NextOffset = &next
	}
	return m
}

type telephonyV2 struct {
	CarrierID   string  `json:"carrier_id"` // twostep: the carrier's message or call id
	Context     string  `json:"context"`
	Credits     int     `json:"credits"`
	Phone       string  `json:"phone"`
	Status      string  `json:"status"` // twostep: the carrier's last delivery status
	TelephonyID string  `json:"telephony_id"`
	TS          string  `json:"ts"`
	TxID        *string `json:"txid"` // twostep does not link messages to transactions
	Type        string  `json:"type"`
}

type telephonyV2Page struct {
	Items    []telephonyV2 `json:"items"`
	Metadata logV2Metadata `json:"metadata"`
}

func (h *Handler) telephonyLogV2(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	q, err := parseLogV2(c)
	if err != nil {
		return err
	}
	entries, err := h.svc.TelephonyLog(r.Context(), actor(c), q.filter)
	if err != nil {
		return err
	}
	more := len(entries) > q.limit
	entries = entries[:min(len(entries), q.limit)]
	out := telephonyV2Page{Items: make([]telephonyV2, 0, len(entries))}
	var lastTime time.Time
	var lastID int64
	for _, e := range entries {
		out.Items = append(out.Items, telephonyV2{CarrierID: e.CarrierID, Status: e.Status, Context: e.Context, Credits: e.Credits, Phone: e.Phone,
			TelephonyID: strconv.FormatInt(e.ID, 10), TS: e.Time.UTC().Format(isoMicro), Type: e.Type})
		lastTime, lastID = e.Time, e.ID
	}
	out.Metadata = logV2Meta(len(entries), more, lastTime, lastID)
	duoproto.WriteOK(w, out)
	return nil
}

// activityParty is an activity record's actor or target.
type activityParty struct {
	Details *string `json:"details"` // JSON, as Duo sends it
	Key     string  `json:"key"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
}

type activityV2 struct {
	AccessDevice *struct{}     `json:"access_device"` // administrator actions carry no device
	Action       string        `json:"action"`
	ActivityID   string        `json:"activity_id"`
	Actor        activityParty `json:"actor"`
	AKey         *string       `json:"akey"`        // Duo's account key: twostep has one account
	Application  *struct{}     `json:"application"` // no application is involved
	Target       activityParty `json:"target"`
	TS           string        `json:"ts"`
}

type activityV2Page struct {
	Items    []activityV2  `json:"items"`
	Metadata logV2Metadata `json:"metadata"`
}

// activityLogV2 serves the administrator log (every change made by an
// administrator, an Admin API integration or twostepd itself) in Duo's
// activity shape.
func (h *Handler) activityLogV2(w http.ResponseWriter, r *http.Request, c *api.Caller) error {
	q, err := parseLogV2(c)
	if err != nil {
		return err
	}
	entries, err := h.svc.AdminLog(r.Context(), actor(c), q.filter)
	if err != nil {
		return err
	}
	more := len(entries) > q.limit
	entries = entries[:min(len(entries), q.limit)]
	out := activityV2Page{Items: make([]activityV2, 0, len(entries))}
	var lastTime time.Time
	var lastID int64
	for _, e := range entries {
		var details *string
		if e.Description != "" {
			d := e.Description
			details = &d
		}
		out.Items = append(out.Items, activityV2{Action: e.Action, ActivityID: strconv.FormatInt(e.ID, 10),
			Actor:  activityParty{Key: e.Actor, Name: e.Actor, Type: e.ActorKind},
			Target: activityParty{Details: details, Key: e.Object, Name: e.Object, Type: e.ObjectType},
			TS:     e.Time.UTC().Format(isoMicro)})
		lastTime, lastID = e.Time, e.ID
	}
	out.Metadata = logV2Meta(len(entries), more, lastTime, lastID)
	duoproto.WriteOK(w, out)
	return nil
}
