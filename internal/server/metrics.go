package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twostep-auth/twostep/internal/duoproto"
)

// metricsHandler serves the registry, behind a bearer token when token is
// set. The token is compared in constant time (over SHA-256 digests, so
// that not even its length leaks).
func metricsHandler(reg *prometheus.Registry, token string) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="twostep metrics"`)
			duoproto.WriteError(w, duoproto.ErrMissingCredentials)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearer returns the token of an "Authorization: Bearer <token>" value.
func bearer(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "twostep_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

var (
	poolOpen     = prometheus.NewDesc("twostep_db_open_connections", "Open database connections.", []string{"pool"}, nil)
	poolInUse    = prometheus.NewDesc("twostep_db_in_use_connections", "Database connections in use.", []string{"pool"}, nil)
	poolIdle     = prometheus.NewDesc("twostep_db_idle_connections", "Idle database connections.", []string{"pool"}, nil)
	poolMax      = prometheus.NewDesc("twostep_db_max_open_connections", "Maximum open database connections.", []string{"pool"}, nil)
	poolWaits    = prometheus.NewDesc("twostep_db_wait_count_total", "Times a request waited for a database connection.", []string{"pool"}, nil)
	poolWaitTime = prometheus.NewDesc("twostep_db_wait_seconds_total", "Time spent waiting for database connections.", []string{"pool"}, nil)
)

// poolCollector reads the database pools' statistics at scrape time.
type poolCollector struct {
	stats func() []PoolStats
}

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolOpen, poolInUse, poolIdle, poolMax, poolWaits, poolWaitTime} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(s.Open), s.Name)
		ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(s.InUse), s.Name)
		ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.Idle), s.Name)
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxOpen), s.Name)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.WaitCount), s.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitTime, prometheus.CounterValue, s.WaitDuration.Seconds(), s.Name)
	}
}

// RadiusMetrics counts the RADIUS front end's drops and answers
// (radiusd.Metrics).
type RadiusMetrics struct {
	dropped  *prometheus.CounterVec
	answered *prometheus.CounterVec
}

func newRadiusMetrics(reg prometheus.Registerer) *RadiusMetrics {
	m := &RadiusMetrics{
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_radius_dropped_total",
			Help: "RADIUS requests dropped without an answer, by reason (unknown_source, missing_message_authenticator, bad_message_authenticator, ...).",
		}, []string{"reason"}),
		answered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "twostep_radius_answers_total",
			Help: "RADIUS answers sent, by client, code and whether they came from the retransmission cache.",
		}, []string{"client", "code", "cached"}),
	}
	reg.MustRegister(m.dropped, m.answered)
	return m
}

// Dropped counts one request dropped for reason.
func (m *RadiusMetrics) Dropped(reason string) { m.dropped.WithLabelValues(reason).Inc() }

// Answered counts one answer.
func (m *RadiusMetrics) Answered(client, code string, cached bool) {
	m.answered.WithLabelValues(client, code, strconv.FormatBool(cached)).Inc()
}
