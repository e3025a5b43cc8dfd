package adminapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	duoadmin "github.com/duosecurity/duo_api_golang/admin"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

func TestAuthLogsSQLite(t *testing.T)   { testAuthLogs(t, newFixture(t)) }
func TestAuthLogsPostgres(t *testing.T) { testAuthLogs(t, newFixture(t, sqltest.PostgresDSN(t))) }

func testAuthLogs(t *testing.T, f *fixture) {
	ctx := t.Context()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	const n = 25
	for i := range n {
		res := mfa.ResultSuccess
		if i%5 == 0 {
			res = mfa.ResultFailure
		}
		// Several records share a millisecond, with microseconds apart.
		at := base.Add(time.Duration(i/3)*time.Second + time.Duration(i%3)*time.Microsecond + 500*time.Microsecond)
		if err := f.Store.AppendAuthLog(ctx, mfa.AuthLogEntry{TxID: fmt.Sprintf("tx-%02d", i), Time: at, EventType: "authentication",
			UserID: "DUUSER", Username: "alice", IKey: "DIAPP", IntegrationName: "VPN", Factor: "duo_push", Result: res,
			Reason: "user_approved", IP: "192.0.2.1", DeviceName: "+15555550100"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Store.AppendAuthLog(ctx, mfa.AuthLogEntry{TxID: "other", Time: base, UserID: "DUOTHER", Username: "bob",
		IKey: "DIAPP", Factor: "passcode", Result: mfa.ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	duo := f.Duo(f.Key)
	for _, sort := range []string{"ts:desc", "ts:asc"} {
		seen := map[string]int{}
		var order []string
		opts := []func(*url.Values){duoadmin.Limit(4), func(v *url.Values) { v.Set("sort", sort); v.Set("users", "DUUSER") }}
		pages := 0
		for {
			res, err := duo.GetAuthLogs(base.Add(-time.Minute), 2*time.Hour, opts...)
			if err != nil || res.Stat != "OK" {
				t.Fatalf("GetAuthLogs() = %+v, %v", res, err)
			}
			pages++
			for _, l := range res.Response.Logs {
				id := l["txid"].(string)
				seen[id]++
				order = append(order, id)
				if l["user"].(map[string]any)["name"] != "alice" || l["application"].(map[string]any)["key"] != "DIAPP" ||
					l["factor"] != "duo_push" || l["event_type"] != "authentication" || l["isotimestamp"] == "" {
					t.Errorf("record = %v", l)
				}
			}
			next := res.Response.Metadata.GetNextOffset()
			if next == nil || pages > 20 {
				break
			}
			opts = append(opts[:2], next)
		}
		if len(seen) != n || len(order) != n {
			t.Errorf("sort %s: saw %d records (%d distinct), want %d once each", sort, len(order), len(seen), n)
		}
		first, last := "tx-00", fmt.Sprintf("tx-%02d", n-1)
		if sort == "ts:desc" {
			first, last = last, first
		}
		if len(order) > 0 && (order[0] != first || order[len(order)-1] != last) {
			t.Errorf("sort %s: order %v", sort, order)
		}
	}

	// Filters as repeated params or comma lists; total_objects counts them all.
	var page struct {
		AuthLogs []map[string]any `json:"authlogs"`
		Metadata struct {
			NextOffset   []string `json:"next_offset"`
			TotalObjects int      `json:"total_objects"`
		} `json:"metadata"`
	}
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	v := url.Values{"mintime": {ms(base.Add(-time.Minute))}, "maxtime": {ms(base.Add(time.Hour))},
		"results": {"FAILURE"}, "factors": {"duo_push,passcode"}, "limit": {"2"}}
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v2/logs/authentication", v), &page)
	if page.Metadata.TotalObjects != 5 || len(page.AuthLogs) != 2 || len(page.Metadata.NextOffset) != 2 {
		t.Errorf("failures page = %d records, total %d, next %v; want 2, 5, a cursor", len(page.AuthLogs), page.Metadata.TotalObjects, page.Metadata.NextOffset)
	}
	v.Add("next_offset", page.Metadata.NextOffset[0])
	v.Add("next_offset", page.Metadata.NextOffset[1])
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v2/logs/authentication", v), &page)
	if len(page.AuthLogs) != 2 {
		t.Errorf("second page via two-value next_offset = %d records, want 2", len(page.AuthLogs))
	}
	v = url.Values{"mintime": {ms(base.Add(-time.Minute))}, "maxtime": {ms(base.Add(time.Hour))}, "applications": {"DINONE"}}
	page.Metadata.NextOffset = nil
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v2/logs/authentication", v), &page)
	if len(page.AuthLogs) != 0 || page.Metadata.TotalObjects != 0 || page.Metadata.NextOffset != nil {
		t.Errorf("unknown application = %+v, want nothing", page)
	}

	// v1: seconds, ascending, bare array.
	var v1 []map[string]any
	f.OK(f.Call(f.Key, http.MethodGet, "/admin/v1/logs/authentication", url.Values{"mintime": {strconv.FormatInt(base.Unix(), 10)}}), &v1)
	if len(v1) != n+1 || v1[0]["timestamp"] != float64(base.Unix()) || v1[len(v1)-1]["username"] != "alice" || v1[1]["integration"] != "VPN" {
		t.Errorf("v1 auth log = %d records: first %v", len(v1), v1[:min(2, len(v1))])
	}

	// Telephony, through Duo's client.
	if _, err := f.Store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Time: base, Type: "sms", Context: "authentication", Phone: "+15555550100", Credits: 1}); err != nil {
		t.Fatal(err)
	}
	tl, err := duo.GetTelephonyLogs(base.Add(-time.Minute))
	if err != nil || len(tl.Logs) != 1 || tl.Logs[0]["phone"] != "+15555550100" || tl.Logs[0]["type"] != "sms" || tl.Logs[0]["credits"] != float64(1) {
		t.Errorf("GetTelephonyLogs() = %+v, %v", tl, err)
	}
}
