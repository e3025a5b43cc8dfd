package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twostep-auth/twostep/internal/mfa"
)

func TestDialectTime(t *testing.T) {
	zone := time.FixedZone("X", -5*3600+1800)
	at := time.Date(2025, time.June, 15, 9, 30, 0, 123456789, zone)
	tests := []struct {
		name string
		d    *dialect
		give time.Time
		want any
	}{
		{"sqlite zero", sqliteDialect, time.Time{}, nil},
		{"postgres zero", postgresDialect, time.Time{}, nil},
		{"sqlite micros", sqliteDialect, at, at.UnixMicro()},
		{"sqlite before 1970", sqliteDialect, time.Date(1960, 1, 1, 0, 0, 0, 999, time.UTC), int64(-315619200000000)},
		{"postgres utc micros", postgresDialect, at, time.Date(2025, time.June, 15, 14, 0, 0, 123456000, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.d.time(tt.give)
			if got != tt.want {
				t.Errorf("time(%v) = %v (%T), want %v (%T)", tt.give, got, got, tt.want, tt.want)
			}
			if pt, ok := got.(time.Time); ok && pt.Location() != time.UTC {
				t.Errorf("time(%v) location = %v, want UTC", tt.give, pt.Location())
			}
		})
	}
}

func TestScanTime(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	tests := []struct {
		name    string
		give    any
		want    time.Time
		wantErr bool
	}{
		{"null", nil, time.Time{}, false},
		{"sqlite micros", int64(1749979800123456), time.Date(2025, time.June, 15, 9, 30, 0, 123456000, time.UTC), false},
		{"postgres", time.Date(2025, time.June, 15, 10, 30, 0, 0, zone), time.Date(2025, time.June, 15, 9, 30, 0, 0, time.UTC), false},
		{"text", "2025-06-15", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := time.Unix(1, 0) // a scan must overwrite
			err := scanTime{&got}.Scan(tt.give)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Scan(%v) = %v, want error %v", tt.give, err, tt.wantErr)
			}
			if err == nil && (!got.Equal(tt.want) || got.Location() != time.UTC) {
				t.Errorf("Scan(%v) = %v, want %v in UTC", tt.give, got, tt.want)
			}
		})
	}
}

func TestDialectArgs(t *testing.T) {
	tests := []struct {
		name    string
		give    any
		want    any
		wantErr bool
	}{
		{"string", "x", "x", false},
		{"named string", mfa.StatusActive, "active", false},
		{"other type passes", struct{}{}, struct{}{}, false},
		{"uint64", uint64(7), int64(7), false},
		{"uint64 too big", uint64(1 << 63), nil, true},
		{"uint32", uint32(7), int64(7), false},
		{"zero time", time.Time{}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqliteDialect.args([]any{tt.give})
			if (err != nil) != tt.wantErr {
				t.Fatalf("args(%v) = %v, want error %v", tt.give, err, tt.wantErr)
			}
			if err == nil && got[0] != tt.want {
				t.Errorf("args(%v) = %v (%T), want %v (%T)", tt.give, got[0], got[0], tt.want, tt.want)
			}
		})
	}
}

func TestDialectPage(t *testing.T) {
	tests := []struct {
		give         mfa.Page
		wantSQLite   string
		wantPostgres string
	}{
		{mfa.Page{}, "", ""},
		{mfa.Page{Limit: -1}, "", ""},
		{mfa.Page{Limit: 10}, " LIMIT 10", " LIMIT 10"},
		{mfa.Page{Limit: 10, Offset: 5}, " LIMIT 10 OFFSET 5", " LIMIT 10 OFFSET 5"},
		{mfa.Page{Offset: 5}, " LIMIT -1 OFFSET 5", " OFFSET 5"},
	}
	for _, tt := range tests {
		if got := sqliteDialect.page(tt.give); got != tt.wantSQLite {
			t.Errorf("sqlite page(%+v) = %q, want %q", tt.give, got, tt.wantSQLite)
		}
		if got := postgresDialect.page(tt.give); got != tt.wantPostgres {
			t.Errorf("postgres page(%+v) = %q, want %q", tt.give, got, tt.wantPostgres)
		}
	}
}

func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c IN (?, ?)`
	if got, want := postgresDialect.rebind(q), `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`; got != want {
		t.Errorf("postgres rebind(%q) = %q, want %q", q, got, want)
	}
	if got := sqliteDialect.rebind(q); got != q {
		t.Errorf("sqlite rebind(%q) = %q, want it unchanged", q, got)
	}
}

func TestSQLiteDSN(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		readOnly  bool
		wantStart string
		want      []string
		dontWant  []string
		wantErr   bool
	}{
		{name: "write", path: "/data/twostep.db", wantStart: "/data/twostep.db?",
			want:     []string{"busy_timeout(2500)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)", "_txlock=immediate"},
			dontWant: []string{"query_only"}},
		{name: "read", path: "/data/twostep.db", readOnly: true, wantStart: "/data/twostep.db?",
			want:     []string{"busy_timeout(2500)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)", "query_only(1)"},
			dontWant: []string{"_txlock"}},
		{name: "uri", path: "file:/data/twostep.db?mode=rwc", wantStart: "file:/data/twostep.db?mode=rwc&",
			want: []string{"_txlock=immediate"}},
		{name: "question mark in a path", path: "/data/x?.db", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqliteDSN(tt.path, 2500*time.Millisecond, tt.readOnly)
			if (err != nil) != tt.wantErr {
				t.Fatalf("sqliteDSN(%q) = %q, %v, want error %v", tt.path, got, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !strings.HasPrefix(got, tt.wantStart) {
				t.Errorf("sqliteDSN(%q) = %q, want it to start with %q", tt.path, got, tt.wantStart)
			}
			dec, _ := url.QueryUnescape(got)
			for _, w := range tt.want {
				if !strings.Contains(dec, w) {
					t.Errorf("sqliteDSN(%q) = %q, want it to contain %q", tt.path, dec, w)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(dec, w) {
					t.Errorf("sqliteDSN(%q) = %q, want no %q", tt.path, dec, w)
				}
			}
		})
	}
}

func TestIsPostgresDSN(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"postgres://u@h/db", true},
		{"postgresql://u@h/db", true},
		{"/var/lib/twostep/twostep.db", false},
		{"file:twostep.db", false},
		{"postgres.db", false},
	}
	for _, tt := range tests {
		if got := isPostgresDSN(tt.give); got != tt.want {
			t.Errorf("isPostgresDSN(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestDBErr(t *testing.T) {
	s := &Store{d: sqliteDialect}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	classified := mfa.InvalidField("count", "too many")
	tests := []struct {
		name     string
		ctx      context.Context
		give     error
		opts     []errOpt
		wantKind mfa.Kind
		wantIs   error
		wantMsg  string
	}{
		{name: "no rows", ctx: context.Background(), give: sql.ErrNoRows, opts: []errOpt{notFound("user not found")},
			wantKind: mfa.NotFound, wantIs: sql.ErrNoRows, wantMsg: "user not found"},
		{name: "classified passes", ctx: context.Background(), give: fmt.Errorf("x: %w", classified),
			wantKind: mfa.Invalid, wantIs: classified},
		{name: "canceled", ctx: canceled, give: errors.New("interrupted (9)"),
			wantKind: mfa.Internal, wantIs: context.Canceled, wantMsg: "get user"},
		{name: "deadline from driver", ctx: context.Background(), give: fmt.Errorf("pg: %w", context.DeadlineExceeded),
			wantKind: mfa.Internal, wantIs: context.DeadlineExceeded},
		{name: "other", ctx: context.Background(), give: errors.New("disk on fire"),
			wantKind: mfa.Internal, wantMsg: "get user: disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.dbErr(tt.ctx, "get user", tt.give, tt.opts...)
			if k := mfa.KindOf(got); k != tt.wantKind {
				t.Errorf("dbErr(%v) kind = %v, want %v", tt.give, k, tt.wantKind)
			}
			if tt.wantIs != nil && !errors.Is(got, tt.wantIs) {
				t.Errorf("dbErr(%v) = %v, want errors.Is %v", tt.give, got, tt.wantIs)
			}
			if !strings.Contains(got.Error(), tt.wantMsg) {
				t.Errorf("dbErr(%v) = %q, want it to contain %q", tt.give, got, tt.wantMsg)
			}
		})
	}
	if err := s.dbErr(context.Background(), "x", nil); err != nil {
		t.Errorf("dbErr(nil) = %v, want nil", err)
	}
}
