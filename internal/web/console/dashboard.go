package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/twostep-auth/twostep/internal/admin"
	"github.com/twostep-auth/twostep/internal/mfa"
)

// dashboardView is the dashboard's model.
type dashboardView struct {
	Users, Enrolled, LockedOut, Bypass int
	// Logs is false when the role may not read the logs (no chart, no
	// failures).
	Logs     bool
	Chart    chart
	Failures []mfa.AuthLogEntry
	// Truncated: more authentications happened than the chart read.
	Truncated bool
}

// chart is the authentications-per-hour bar chart, drawn as SVG on the
// server: 24 bars, the last one the current hour.
type chart struct {
	Bars  []bar
	Max   int
	Total int
	W, H  int
}

type bar struct {
	X, Y, W, H int
	Label      string // the hour, "14:00"
	Count      int
	Failures   int
	FY, FH     int  // the failed part of the bar
	ShowLabel  bool // every third hour is labelled
}

const (
	chartW, chartH = 720, 200
	chartHours     = 24
)

// dashboard serves GET /console/.
func (p *Pages) dashboard(w http.ResponseWriter, r *http.Request, c req) error {
	var v dashboardView
	const pageSize = 500
	for off := 0; ; off += pageSize {
		users, total, err := p.admin.ListUsers(r.Context(), c.Actor, mfa.UserFilter{Page: mfa.Page{Limit: pageSize, Offset: off}})
		if err != nil {
			return err
		}
		v.Users = total
		for _, u := range users {
			if len(u.Phones)+len(u.Tokens) > 0 {
				v.Enrolled++
			}
			switch u.Status {
			case mfa.StatusLockedOut:
				v.LockedOut++
			case mfa.StatusBypass:
				v.Bypass++
			}
		}
		if len(users) < pageSize {
			break
		}
	}
	if p.may(r, c, admin.ReadLogs) {
		v.Logs = true
		now := p.now()
		end := now.Truncate(time.Hour).Add(time.Hour)
		start := end.Add(-chartHours * time.Hour)
		entries, total, err := p.admin.AuthLog(r.Context(), c.Actor, mfa.AuthLogFilter{MinTime: start, MaxTime: now,
			EventTypes: []string{"authentication"}, Limit: admin.MaxAuthLogLimit, Descending: true})
		if err != nil {
			return err
		}
		v.Truncated = total > len(entries)
		v.Chart = drawChart(entries, start)
		fails, _, err := p.admin.AuthLog(r.Context(), c.Actor, mfa.AuthLogFilter{MinTime: now.Add(-7 * 24 * time.Hour), MaxTime: now,
			Results: []mfa.AuthResult{mfa.ResultFailure, mfa.ResultFraud, mfa.ResultDenied}, Limit: 10, Descending: true})
		if err != nil {
			return err
		}
		v.Failures = fails
	}
	return p.tmpl.Render(w, r, http.StatusOK, "dashboard.html", p.view(c, msgDashboardTitle, "/console/", v))
}

// drawChart buckets entries into the 24 hours from start.
func drawChart(entries []mfa.AuthLogEntry, start time.Time) chart {
	var counts, fails [chartHours]int
	for _, e := range entries {
		h := int(e.Time.Sub(start) / time.Hour)
		if h < 0 || h >= chartHours {
			continue
		}
		counts[h]++
		if e.Result != mfa.ResultSuccess {
			fails[h]++
		}
	}
	ch := chart{W: chartW, H: chartH}
	for _, n := range counts {
		ch.Total += n
		ch.Max = max(ch.Max, n)
	}
	scale := max(ch.Max, 1)
	const plotH = chartH - 24 // room for the hour labels
	slot := chartW / chartHours
	for i := range chartHours {
		hgt := counts[i] * plotH / scale
		fh := fails[i] * plotH / scale
		ch.Bars = append(ch.Bars, bar{X: i*slot + 2, W: slot - 4, Y: plotH - hgt, H: hgt, Count: counts[i], Failures: fails[i],
			FY: plotH - fh, FH: fh, ShowLabel: i%3 == 0, Label: fmt.Sprintf("%02d:00", start.Add(time.Duration(i)*time.Hour).UTC().Hour())})
	}
	return ch
}
