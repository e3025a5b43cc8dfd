package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiAuthLog is the part of a v2 authentication log record the CLI shows.
type apiAuthLog struct {
	TxID      string `json:"txid"`
	Timestamp int64  `json:"timestamp"`
	EventType string `json:"event_type"`
	Factor    string `json:"factor"`
	Result    string `json:"result"`
	Reason    string `json:"reason"`
	User      struct {
		Key  string `json:"key"`
		Name string `json:"name"`
	} `json:"user"`
	Application struct {
		Key  string `json:"key"`
		Name string `json:"name"`
	} `json:"application"`
	AccessDevice struct {
		IP       string `json:"ip"`
		Hostname string `json:"hostname"`
	} `json:"access_device"`
}

// apiAdminLog is a v1 administrator log record.
type apiAdminLog struct {
	Timestamp   int64           `json:"timestamp"`
	Username    string          `json:"username"`
	Action      string          `json:"action"`
	Object      string          `json:"object"`
	Description json.RawMessage `json:"description"`
}

// timeRange is the --since / --mintime / --maxtime flags of a log command.
type timeRange struct {
	Since   time.Duration `help:"Records from this long ago (default 24h)." placeholder:"DURATION"`
	MinTime string        `name:"mintime" help:"Earliest record: RFC 3339 time, or Unix time in seconds or milliseconds." placeholder:"TIME"`
	MaxTime string        `name:"maxtime" help:"Latest record (default now), as --mintime." placeholder:"TIME"`
}

// bounds resolves the range against now.
func (r timeRange) bounds(now time.Time) (minT, maxT time.Time, err error) {
	if r.Since != 0 && r.MinTime != "" {
		return minT, maxT, usageError{fmt.Errorf("--since and --mintime are mutually exclusive")}
	}
	if r.Since < 0 {
		return minT, maxT, usageError{fmt.Errorf("--since %v: want a positive duration", r.Since)}
	}
	maxT = now
	if r.MaxTime != "" {
		if maxT, err = parseLogTime(r.MaxTime); err != nil {
			return minT, maxT, usageError{fmt.Errorf("--maxtime: %w", err)}
		}
	}
	switch {
	case r.MinTime != "":
		if minT, err = parseLogTime(r.MinTime); err != nil {
			return minT, maxT, usageError{fmt.Errorf("--mintime: %w", err)}
		}
	case r.Since != 0:
		minT = now.Add(-r.Since)
	default:
		minT = now.Add(-24 * time.Hour)
	}
	if minT.After(maxT) {
		return minT, maxT, usageError{fmt.Errorf("the time range is empty: %s is after %s", minT.Format(time.RFC3339), maxT.Format(time.RFC3339))}
	}
	return minT, maxT, nil
}

// parseLogTime reads RFC 3339, a date, or Unix seconds/milliseconds (a
// number above 10^11 is taken as milliseconds).
func parseLogTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 1e11 {
			return time.UnixMilli(n), nil
		}
		return time.Unix(n, 0), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time, a date or a Unix time", s)
}

type adminLogsAuthCmd struct {
	timeRange
	User   []string `help:"Only these users (username or id; repeatable)." placeholder:"USER"`
	Result []string `help:"Only these results: success, failure, denied, error, fraud (repeatable)." placeholder:"RESULT"`
	Factor []string `help:"Only these factors, for example passcode, duo_push, bypass_code (repeatable)." placeholder:"FACTOR"`
	Limit  int      `help:"At most this many records (0 = all)." default:"1000"`
	Asc    bool     `help:"Oldest first (default newest first)."`
}

func (c *adminLogsAuthCmd) run(a *adminEnv) error {
	minT, maxT, err := c.bounds(time.Now())
	if err != nil {
		return err
	}
	p := url.Values{
		"mintime": {strconv.FormatInt(minT.UnixMilli(), 10)},
		"maxtime": {strconv.FormatInt(maxT.UnixMilli(), 10)},
		"limit":   {"1000"},
	}
	if c.Limit > 0 && c.Limit < 1000 {
		p.Set("limit", strconv.Itoa(c.Limit))
	}
	if c.Asc {
		p.Set("sort", "ts:asc")
	}
	for _, arg := range c.User {
		u, _, err := a.resolveUser(arg)
		if err != nil {
			return err
		}
		p.Add("users", u.UserID)
	}
	for _, r := range c.Result {
		p.Add("results", strings.ToLower(r))
	}
	for _, f := range c.Factor {
		p.Add("factors", f)
	}
	list, err := a.client.ListLogsV2(a.ctx(), "/admin/v2/logs/authentication", "authlogs", p, c.Limit)
	if err != nil {
		return fmt.Errorf("read authentication log: %w", err)
	}
	if a.flags.JSON {
		return a.printJSON(rawList(list))
	}
	t := newTable(a.stdout, "TIME", "USER", "APPLICATION", "FACTOR", "RESULT", "REASON", "IP", "TXID")
	for _, raw := range list {
		var r apiAuthLog
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("decode log record: %w", err)
		}
		ts := r.Timestamp
		t.row(fmtTime(&ts), r.User.Name, r.Application.Name, r.Factor, r.Result, r.Reason, r.AccessDevice.IP, r.TxID)
	}
	return t.flush()
}

type adminLogsAdminCmd struct {
	timeRange
}

// adminLogPageSize is Duo's most records per v1 log call.
const adminLogPageSize = 1000

func (c *adminLogsAdminCmd) run(a *adminEnv) error {
	minT, maxT, err := c.bounds(time.Now())
	if err != nil {
		return err
	}
	// v1 pages by time: ask again from the newest timestamp seen while
	// full pages come back, skipping records already returned.
	var all []json.RawMessage
	seen := map[string]bool{}
	mintime := minT.Unix()
	for {
		var page []json.RawMessage
		p := url.Values{"mintime": {strconv.FormatInt(mintime, 10)}}
		if err := a.client.Get(a.ctx(), "/admin/v1/logs/administrator", p, &page); err != nil {
			return fmt.Errorf("read administrator log: %w", err)
		}
		newest, added := mintime, 0
		for _, raw := range page {
			var r apiAdminLog
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("decode log record: %w", err)
			}
			if seen[string(raw)] || r.Timestamp > maxT.Unix() {
				continue
			}
			seen[string(raw)] = true
			all = append(all, raw)
			added++
			newest = max(newest, r.Timestamp)
		}
		if len(page) < adminLogPageSize || added == 0 {
			break
		}
		mintime = newest
	}
	if a.flags.JSON {
		return a.printJSON(rawList(all))
	}
	t := newTable(a.stdout, "TIME", "ADMIN", "ACTION", "OBJECT", "DESCRIPTION")
	for _, raw := range all {
		var r apiAdminLog
		json.Unmarshal(raw, &r)
		ts := r.Timestamp
		desc := string(r.Description)
		var s string
		if json.Unmarshal(r.Description, &s) == nil {
			desc = s
		}
		t.row(fmtTime(&ts), r.Username, r.Action, r.Object, desc)
	}
	return t.flush()
}
