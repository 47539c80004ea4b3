package observe

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HealthOptions tune a HealthCollector; zero values take the defaults.
type HealthOptions struct {
	// Window is what the rates and medians cover (DefaultHealthWindow).
	Window time.Duration
	// CacheFor is how long one read of the history serves scrapes (30s).
	CacheFor time.Duration
	// Timeout bounds one read of the history (10s).
	Timeout time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// HealthCollector exposes delivery health (DORA numbers, state, last
// success, in-flight deployments) per repository and environment as
// gauges. It reads the history when scraped, at most once per CacheFor,
// so scrapes from several Prometheus servers cost one query.
type HealthCollector struct {
	history History
	opts    HealthOptions

	mu     sync.Mutex
	readAt time.Time
	health []EnvHealth
	err    error

	up, perDay, changes, failures, failureRatio, leadTime, restore,
	lastSuccess, healthy, failingFor, inFlight, inFlightFor *prometheus.Desc
}

// NewHealthCollector returns a collector over h.
func NewHealthCollector(h History, opts HealthOptions) *HealthCollector {
	if opts.Window <= 0 {
		opts.Window = DefaultHealthWindow
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	env := []string{"repo", "env"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &HealthCollector{
		history: h, opts: opts,
		up:           d("conveyor_deploy_health_up", "1 when the deployment history was read for the delivery health gauges, 0 when reading it failed."),
		perDay:       d("conveyor_deploy_frequency_per_day", "Successful deployments (not rollbacks) per day over the health window.", env...),
		changes:      d("conveyor_deploy_changes", "Deployments (not rollbacks) that finished in the health window.", env...),
		failures:     d("conveyor_deploy_change_failures", "Deployments that finished in the health window and failed, rolled back, or were later taken off by /rollback.", env...),
		failureRatio: d("conveyor_deploy_change_failure_ratio", "Change failure rate: change failures / changes in the health window (absent with no changes).", env...),
		leadTime:     d("conveyor_deploy_lead_time_seconds", "Median lead time of the successful deployments in the health window, from the basis (commit or release_created) to success.", "repo", "env", "basis"),
		restore:      d("conveyor_deploy_time_to_restore_seconds", "Median time from a failure to the next successful deployment or rollback, over restores in the health window.", env...),
		lastSuccess:  d("conveyor_deploy_last_success_timestamp_seconds", "When the environment's last successful deployment or rollback finished (Unix time).", env...),
		healthy:      d("conveyor_deploy_healthy", "1 when the newest finished deployment succeeded and no failure waits to be restored.", env...),
		failingFor:   d("conveyor_deploy_failing_seconds", "How long a failure has waited to be restored; 0 when none.", env...),
		inFlight:     d("conveyor_deploy_in_flight", "1 while a deployment of the environment is under way.", env...),
		inFlightFor:  d("conveyor_deploy_in_flight_seconds", "Age of the deployment under way; 0 when none.", env...),
	}
}

// Describe sends every gauge's descriptor.
func (c *HealthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.perDay, c.changes, c.failures, c.failureRatio, c.leadTime, c.restore,
		c.lastSuccess, c.healthy, c.failingFor, c.inFlight, c.inFlightFor} {
		ch <- d
	}
}

// Collect reads the history (or its cached read) and sends the gauges.
func (c *HealthCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.opts.Now()
	hs, err := c.read(now)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, h := range hs {
		l := []string{h.Repo, h.Env}
		g(c.perDay, h.DeploysPerDay, l...)
		g(c.changes, float64(h.Changes), l...)
		g(c.failures, float64(h.Failures), l...)
		if h.ChangeFailureRate != nil {
			g(c.failureRatio, *h.ChangeFailureRate, l...)
		}
		if h.LeadTimeSamples > 0 {
			g(c.leadTime, h.LeadTime.Seconds(), h.Repo, h.Env, h.LeadTimeBasis)
		}
		if h.Restores > 0 {
			g(c.restore, h.TimeToRestore.Seconds(), l...)
		}
		if h.LastSuccess != nil {
			g(c.lastSuccess, float64(h.LastSuccess.At.UnixMilli())/1000, l...)
		}
		g(c.healthy, boolGauge(h.Healthy()), l...)
		failing := 0.0
		if !h.FailingSince.IsZero() {
			failing = now.Sub(h.FailingSince).Seconds()
		}
		g(c.failingFor, failing, l...)
		g(c.inFlight, boolGauge(h.InFlight != nil), l...)
		age := 0.0
		if h.InFlight != nil {
			age = now.Sub(h.InFlight.At).Seconds()
		}
		g(c.inFlightFor, age, l...)
	}
}

// read returns the health computed at the last read of the history,
// reading again once it is older than CacheFor.
func (c *HealthCollector) read(now time.Time) ([]EnvHealth, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < c.opts.CacheFor && now.Sub(c.readAt) >= 0 {
		return c.health, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	c.health, c.err = ReadHealth(ctx, c.history, "", now, c.opts.Window)
	c.readAt = now
	return c.health, c.err
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WatchDeployments registers a HealthCollector over h with the server's
// metrics, so /metrics shows delivery health next to the webhook path.
func (m *Metrics) WatchDeployments(h History, opts HealthOptions) {
	m.Registry.MustRegister(NewHealthCollector(h, opts))
}
