// Package observe measures Conveyor and the data platform it runs: Prometheus
// metrics for the server, and the views operators read.
package observe

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the server's Prometheus collectors in a registry of its own;
// create one in main and pass it down.
type Metrics struct {
	Registry *prometheus.Registry

	// Webhook intake, labelled by GitHub event type.
	DeliveriesReceived     *prometheus.CounterVec
	DeliveriesDeduplicated *prometheus.CounterVec
	DeliveriesRejected     *prometheus.CounterVec // by reason: signature, too_large, bad_request, store_error
	DeliveriesUnhandled    *prometheus.CounterVec

	// Inbox processing, labelled by event type.
	DeliveryAttemptsFailed *prometheus.CounterVec
	DeliveriesParked       *prometheus.CounterVec
	DeliveriesProcessed    *prometheus.CounterVec
	HandlerDuration        *prometheus.HistogramVec // by event and outcome (ok, error, panic)
	InboxDepth             prometheus.Gauge
	InboxOldestAge         prometheus.Gauge
	InboxParked            prometheus.Gauge

	// GitHub API use, recorded by the client middleware.
	GitHubRequests           *prometheus.CounterVec // by method and status class
	GitHubRateLimitRemaining *prometheus.GaugeVec   // by rate-limit resource (core, graphql, search…)
}

// NewMetrics creates the collectors and registers them, with the Go runtime
// and process collectors, in a fresh registry.
func NewMetrics() *Metrics {
	event := []string{"event"}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		DeliveriesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_webhook_deliveries_received_total",
			Help: "Verified webhook deliveries received, by event type (including redeliveries).",
		}, event),
		DeliveriesDeduplicated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_webhook_deliveries_deduplicated_total",
			Help: "Webhook deliveries acknowledged without processing because their delivery ID was already stored.",
		}, event),
		DeliveriesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_webhook_deliveries_rejected_total",
			Help: "Webhook requests refused, by reason (signature, too_large, bad_request, store_error).",
		}, []string{"reason"}),
		DeliveriesUnhandled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_webhook_deliveries_unhandled_total",
			Help: "Verified deliveries acknowledged but not stored because no handler takes their event type.",
		}, event),
		DeliveryAttemptsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_inbox_attempts_failed_total",
			Help: "Handler attempts that failed (error or panic), by event type.",
		}, event),
		DeliveriesParked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_inbox_deliveries_parked_total",
			Help: "Deliveries parked as failed after their last attempt, by event type.",
		}, event),
		DeliveriesProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_inbox_deliveries_processed_total",
			Help: "Deliveries whose handler finished successfully, by event type.",
		}, event),
		HandlerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "conveyor_handler_duration_seconds",
			Help:    "Time a handler spent on one delivery attempt, by event type and outcome.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"event", "outcome"}),
		InboxDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "conveyor_inbox_depth",
			Help: "Deliveries stored and not yet finished (waiting, in flight or backing off).",
		}),
		InboxOldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "conveyor_inbox_oldest_age_seconds",
			Help: "Age of the oldest unfinished delivery; 0 when the inbox is empty.",
		}),
		InboxParked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "conveyor_inbox_parked",
			Help: "Deliveries parked as failed, waiting for `conveyor inbox retry`.",
		}),
		GitHubRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conveyor_github_api_requests_total",
			Help: "GitHub API calls, by HTTP method and status (2xx, 3xx, 4xx, 5xx, or error).",
		}, []string{"method", "status"}),
		GitHubRateLimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "conveyor_github_rate_limit_remaining",
			Help: "X-RateLimit-Remaining from the latest GitHub API response, by rate-limit resource.",
		}, []string{"resource"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.DeliveriesReceived, m.DeliveriesDeduplicated, m.DeliveriesRejected, m.DeliveriesUnhandled,
		m.DeliveryAttemptsFailed, m.DeliveriesParked, m.DeliveriesProcessed, m.HandlerDuration,
		m.InboxDepth, m.InboxOldestAge, m.InboxParked,
		m.GitHubRequests, m.GitHubRateLimitRemaining,
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// SetInbox records the inbox depth, parked count and age of the oldest unfinished delivery.
func (m *Metrics) SetInbox(depth, parked int, oldest time.Time, now time.Time) {
	m.InboxDepth.Set(float64(depth))
	m.InboxParked.Set(float64(parked))
	if oldest.IsZero() {
		m.InboxOldestAge.Set(0)
		return
	}
	m.InboxOldestAge.Set(now.Sub(oldest).Seconds())
}

// GitHubClientMiddleware wraps a GitHub API transport to count calls by
// status and record the remaining rate limit. Its type matches
// githubapp.ClientMiddleware, so it installs with
// githubapp.WithClientMiddleware(metrics.GitHubClientMiddleware).
func (m *Metrics) GitHubClientMiddleware(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		res, err := next.RoundTrip(r)
		if err != nil {
			m.GitHubRequests.WithLabelValues(r.Method, "error").Inc()
			return res, err
		}
		m.GitHubRequests.WithLabelValues(r.Method, statusClass(res.StatusCode)).Inc()
		if v := res.Header.Get("X-RateLimit-Remaining"); v != "" {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				resource := res.Header.Get("X-RateLimit-Resource")
				if resource == "" {
					resource = "core"
				}
				m.GitHubRateLimitRemaining.WithLabelValues(resource).Set(n)
			}
		}
		return res, nil
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}
