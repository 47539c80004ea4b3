package observe

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The middleware must stay installable on go-githubapp's client creator.
var _ githubapp.ClientMiddleware = (&Metrics{}).GitHubClientMiddleware

func TestGitHubClientMiddleware(t *testing.T) {
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("X-RateLimit-Remaining", "4999")
			w.Header().Set("X-RateLimit-Resource", "core")
		case "/graphql":
			w.Header().Set("X-RateLimit-Remaining", "120")
			w.Header().Set("X-RateLimit-Resource", "graphql")
		case "/missing":
			w.Header().Set("X-RateLimit-Remaining", "4998")
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer gh.Close()

	m := NewMetrics()
	client := &http.Client{Transport: m.GitHubClientMiddleware(http.DefaultTransport)}
	for _, p := range []string{"/ok", "/ok", "/graphql", "/missing"} {
		res, err := client.Get(gh.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	failing := &http.Client{Transport: m.GitHubClientMiddleware(roundTripperFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	}))}
	if _, err := failing.Get(gh.URL + "/ok"); err == nil {
		t.Fatal("want the transport error through")
	}

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"2xx calls", value(t, m.GitHubRequests.WithLabelValues("GET", "2xx")), 3},
		{"4xx calls", value(t, m.GitHubRequests.WithLabelValues("GET", "4xx")), 1},
		{"errors", value(t, m.GitHubRequests.WithLabelValues("GET", "error")), 1},
		{"core remaining (latest wins)", value(t, m.GitHubRateLimitRemaining.WithLabelValues("core")), 4998},
		{"graphql remaining", value(t, m.GitHubRateLimitRemaining.WithLabelValues("graphql")), 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestHandlerExposesConveyorMetrics(t *testing.T) {
	m := NewMetrics()
	m.DeliveriesReceived.WithLabelValues("pull_request").Inc()
	now := time.Now()
	m.SetInbox(3, 1, now.Add(-90*time.Second), now)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`conveyor_webhook_deliveries_received_total{event="pull_request"} 1`,
		`conveyor_inbox_depth 3`,
		`conveyor_inbox_oldest_age_seconds 90`,
		`conveyor_inbox_parked 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
}

// value reads the current value of a counter or gauge.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := c.Write(&out); err != nil {
		t.Fatal(err)
	}
	switch {
	case out.Counter != nil:
		return out.Counter.GetValue()
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	}
	t.Fatalf("not a counter or gauge: %v", c.Desc())
	return 0
}
