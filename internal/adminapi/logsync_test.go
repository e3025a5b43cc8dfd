package adminapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twostep-auth/twostep/internal/mfa"
	"github.com/twostep-auth/twostep/internal/sqlstore/sqltest"
)

// logFeed is one of the log feeds duo_log_sync pulls.
type logFeed struct {
	name string
	path string
	// records decodes a page: each record's id, and the next_offset to
	// keep as the checkpoint ("" when absent), as duo_log_sync does.
	records func(t *testing.T, raw json.RawMessage) (ids []string, next string)
	// offset turns a checkpoint into the request's next_offset values.
	offset func(checkpoint string) []string
}

var logFeeds = []logFeed{
	{"auth", "/admin/v2/logs/authentication",
		func(t *testing.T, raw json.RawMessage) ([]string, string) {
			var p struct {
				AuthLogs []struct {
					TxID         string `json:"txid"`
					ISOTimestamp string `json:"isotimestamp"`
				} `json:"authlogs"`
				Metadata struct {
					NextOffset []string `json:"next_offset"`
				} `json:"metadata"`
			}
			decode(t, raw, &p)
			var ids []string
			for _, l := range p.AuthLogs {
				ids = append(ids, l.TxID)
				// duo_log_sync parses isotimestamp with this layout.
				if _, err := time.Parse("2006-01-02T15:04:05.000000+00:00", l.ISOTimestamp); err != nil {
					t.Errorf("isotimestamp %q: %v", l.ISOTimestamp, err)
				}
			}
			if n := p.Metadata.NextOffset; n != nil {
				// Duo's documented pair: an integer millisecond and a txid.
				if len(n) != 2 || strings.Contains(n[0], ".") {
					t.Errorf("next_offset = %q, want [<integer ms>, <txid>]", n)
				}
				if _, err := strconv.ParseInt(n[0], 10, 64); err != nil {
					t.Errorf("next_offset[0] = %q, want an integer", n[0])
				}
				return ids, strings.Join(n, ",")
			}
			return ids, ""
		},
		// duo_client_python sends the pair as a list: the parameter twice.
		func(c string) []string { return strings.Split(c, ",") }},
	{"telephony", "/admin/v2/logs/telephony", itemsFeed("telephony_id"), func(c string) []string { return []string{c} }},
	{"activity", "/admin/v2/logs/activity", itemsFeed("activity_id"), func(c string) []string { return []string{c} }},
}

// itemsFeed decodes the v2 telephony and activity pages.
func itemsFeed(idField string) func(t *testing.T, raw json.RawMessage) ([]string, string) {
	return func(t *testing.T, raw json.RawMessage) ([]string, string) {
		var p struct {
			Items    []map[string]any `json:"items"`
			Metadata struct {
				NextOffset   *string        `json:"next_offset"`
				TotalObjects map[string]any `json:"total_objects"`
			} `json:"metadata"`
		}
		decode(t, raw, &p)
		var ids []string
		for _, it := range p.Items {
			id, _ := it[idField].(string)
			ids = append(ids, id)
			ts, _ := it["ts"].(string)
			if _, err := time.Parse("2006-01-02T15:04:05.000000+00:00", ts); err != nil {
				t.Errorf("ts %q: %v", ts, err)
			}
		}
		if p.Metadata.TotalObjects["relation"] == nil {
			t.Errorf("total_objects = %v, want {relation, value}", p.Metadata.TotalObjects)
		}
		if p.Metadata.NextOffset != nil {
			ms, _, ok := strings.Cut(*p.Metadata.NextOffset, ",")
			if _, err := strconv.ParseInt(ms, 10, 64); !ok || err != nil {
				t.Errorf("next_offset = %q, want \"<integer ms>,<id>\"", *p.Metadata.NextOffset)
			}
			return ids, *p.Metadata.NextOffset
		}
		return ids, ""
	}
}

func decode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

// logSyncer pulls one feed as duo_log_sync's producers do: a fixed
// mintime, maxtime now, sort ts:asc, and next_offset from its checkpoint
// file; it writes each page's next_offset to the checkpoint once the
// page's records are consumed. A new logSyncer over the same file is a
// restart.
type logSyncer struct {
	f          *fixture
	key        mfa.Integration
	feed       logFeed
	checkpoint string
	mintime    time.Time
	limit      int
}

// poll asks for pages until one is empty, or for at most maxPages pages
// (a crash), and returns the records consumed.
func (s *logSyncer) poll(t *testing.T, maxPages int) []string {
	t.Helper()
	var got []string
	for page := 0; page < maxPages; page++ {
		v := url.Values{"mintime": {strconv.FormatInt(s.mintime.UnixMilli(), 10)},
			"maxtime": {strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"limit":   {strconv.Itoa(s.limit)}, "sort": {"ts:asc"}}
		if c, err := os.ReadFile(s.checkpoint); err == nil {
			v["next_offset"] = s.feed.offset(string(c))
		}
		r := s.f.Call(s.key, http.MethodGet, s.feed.path, v)
		s.f.OK(r, nil)
		ids, next := s.feed.records(t, r.Response)
		got = append(got, ids...)
		if next != "" {
			if err := os.WriteFile(s.checkpoint, []byte(next), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if len(ids) == 0 {
			break
		}
	}
	return got
}

func TestLogSyncSQLite(t *testing.T)   { testLogSync(t, newFixture(t)) }
func TestLogSyncPostgres(t *testing.T) { testLogSync(t, newFixture(t, sqltest.PostgresDSN(t))) }

// testLogSync pulls the authentication, telephony and activity feeds the
// way duo_log_sync does, with records arriving between polls, several in
// the same millisecond, and the puller restarting from its checkpoint
// (once right after a crash mid-way): every record is seen exactly once.
func testLogSync(t *testing.T, f *fixture) {
	ctx := t.Context()
	start := time.Now().Add(-time.Minute)
	reader := f.Integration(mfa.IntegrationAdminAPI, mfa.AdminPermissions{ReadLog: true})
	want := map[string][]string{}
	n := 0
	// add appends k records to every feed: auth records microseconds
	// apart (so several share a millisecond), telephony and activity
	// records back to back.
	add := func(k int) {
		base := time.Now()
		for i := range k {
			n++
			txid := fmt.Sprintf("tx-%03d", n)
			if err := f.Store.AppendAuthLog(ctx, mfa.AuthLogEntry{TxID: txid,
				Time: base.Add(time.Duration(i) * 300 * time.Microsecond), EventType: "authentication", UserID: "DUUSER",
				Username: "alice", IKey: "DIAPP", Factor: "duo_push", Result: mfa.ResultSuccess, Reason: "user_approved"}); err != nil {
				t.Fatal(err)
			}
			want["auth"] = append(want["auth"], txid)
			id, err := f.Store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Type: "sms", Context: "authentication",
				Phone: "+15555550100", UserID: "DUUSER", Credits: 1})
			if err != nil {
				t.Fatal(err)
			}
			want["telephony"] = append(want["telephony"], strconv.FormatInt(id, 10))
			id, err = f.Store.AppendAdminLog(ctx, mfa.AdminLogEntry{Actor: "admin@example.com", ActorKind: "admin",
				Action: "user_update", ObjectType: "user", Object: fmt.Sprintf("user%d", n), Description: `{"notes":"x"}`})
			if err != nil {
				t.Fatal(err)
			}
			want["activity"] = append(want["activity"], strconv.FormatInt(id, 10))
		}
	}
	dir := t.TempDir()
	syncers := map[string]*logSyncer{}
	restart := func() {
		for _, feed := range logFeeds {
			syncers[feed.name] = &logSyncer{f: f, key: reader, feed: feed, mintime: start, limit: 4,
				checkpoint: filepath.Join(dir, feed.name+"_checkpoint_data.txt")}
		}
	}
	got := map[string][]string{}
	poll := func(maxPages int) {
		for _, feed := range logFeeds {
			got[feed.name] = append(got[feed.name], syncers[feed.name].poll(t, maxPages)...)
		}
	}
	restart()
	add(10)
	poll(100)
	add(7)
	poll(1) // a crash after one page
	restart()
	poll(100)
	poll(100) // nothing new: nothing again
	add(5)
	restart()
	poll(100)
	for _, feed := range logFeeds {
		if len(want[feed.name]) != 22 {
			t.Fatalf("%s: %d records written, want 22", feed.name, len(want[feed.name]))
		}
		if diff := cmp.Diff(want[feed.name], got[feed.name]); diff != "" {
			t.Errorf("%s records seen (-want +got):\n%s", feed.name, diff)
		}
	}
}

// TestAuthLogV2Filters: event_types, phone_numbers (the phones with those
// numbers) and token_id select records; given together they combine with
// AND. The v2 page shapes are pinned by golden files.
func TestAuthLogV2Filters(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var phone struct {
		PhoneID string `json:"phone_id"`
	}
	f.OK(f.Call(f.Key, http.MethodPost, "/admin/v1/phones", url.Values{"number": {"+15555550100"}}), &phone)
	base := time.Now().Add(-time.Minute)
	recs := []struct {
		txid, event, device string
	}{
		{"tx-phone", "authentication", phone.PhoneID},
		{"tx-token", "authentication", "DHTOKEN000000000000X"},
		{"tx-enroll", "enrollment", phone.PhoneID},
		{"tx-none", "authentication", ""},
	}
	for i, r := range recs {
		if err := f.Store.AppendAuthLog(ctx, mfa.AuthLogEntry{TxID: r.txid, Time: base.Add(time.Duration(i) * time.Second),
			EventType: r.event, DeviceID: r.device, DeviceName: "+15555550100", UserID: "DUUSER", Username: "alice",
			IKey: "DIAPP", IntegrationName: "VPN", Factor: "duo_push", Result: mfa.ResultSuccess, Reason: "user_approved",
			IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	window := url.Values{"mintime": {ms(base.Add(-time.Second))}, "maxtime": {ms(base.Add(time.Minute))}, "sort": {"ts:asc"}}
	tests := []struct {
		name string
		give url.Values
		want []string
	}{
		{"event_types", url.Values{"event_types": {"enrollment"}}, []string{"tx-enroll"}},
		{"event_types both", url.Values{"event_types": {"enrollment", "authentication"}}, []string{"tx-phone", "tx-token", "tx-enroll", "tx-none"}},
		{"phone_numbers", url.Values{"phone_numbers": {"+15555550100"}}, []string{"tx-phone", "tx-enroll"}},
		{"phone_numbers unknown", url.Values{"phone_numbers": {"+15555550199"}}, nil},
		{"token_id", url.Values{"token_id": {"DHTOKEN000000000000X"}}, []string{"tx-token"}},
		{"phone and token", url.Values{"phone_numbers": {"+15555550100"}, "token_id": {"DHTOKEN000000000000X"}}, nil},
		{"phone and event", url.Values{"phone_numbers": {"+15555550100"}, "event_types": {"authentication"}}, []string{"tx-phone"}},
	}
	for _, tt := range tests {
		v := url.Values{}
		for k, vs := range window {
			v[k] = vs
		}
		for k, vs := range tt.give {
			v[k] = vs
		}
		r := f.Call(f.Key, http.MethodGet, "/admin/v2/logs/authentication", v)
		var page struct {
			AuthLogs []struct {
				TxID string `json:"txid"`
			} `json:"authlogs"`
		}
		f.OK(r, &page)
		var got []string
		for _, l := range page.AuthLogs {
			got = append(got, l.TxID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if tt.name == "token_id" {
			golden(t, "authlog_v2_page", r.Response)
		}
	}

	// The other feeds' shapes.
	if _, err := f.Store.AppendTelephonyLog(ctx, mfa.TelephonyLogEntry{Type: "sms", Context: "authentication",
		Phone: "+15555550100", UserID: "DUUSER", Credits: 1}); err != nil {
		t.Fatal(err)
	}
	now := url.Values{"mintime": {ms(base)}, "maxtime": {ms(time.Now().Add(time.Second))}}
	r := f.Call(f.Key, http.MethodGet, "/admin/v2/logs/telephony", now)
	f.OK(r, nil)
	golden(t, "telephony_log_v2", r.Response)
	r = f.Call(f.Key, http.MethodGet, "/admin/v2/logs/activity", now)
	f.OK(r, nil)
	golden(t, "activity_log_v2", r.Response)
}
