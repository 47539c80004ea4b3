package observe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/deploy"
	"github.com/parcelflow/conveyor/store"
)

// seedStore records, in a real state database, what the deploy engine
// writes for o/data prod: r1 deployed, r2 deployed, r2 taken off by a
// rollback to r1, and r3 (from a later commit reusing r3's bytes) under way.
func seedStore(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, r := range []store.Release{
		{ID: "r1", SHA: "c1", Risk: "low", Manifest: []byte(`{}`), CreatedAt: hr(1)},
		{ID: "r2", SHA: "c2", Risk: "low", Manifest: []byte(`{}`), CreatedAt: hr(10)},
		{ID: "r3", SHA: "c3", Risk: "low", Manifest: []byte(`{}`), CreatedAt: hr(20)},
	} {
		if err := db.PutRelease(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		id, rel, kind, state string
		det                  deploy.Details
		created, finished    float64
	}
	for _, r := range []row{
		{"d1", "r1", deploy.KindDeploy, deploy.StateSucceeded, deploy.Details{SHA: "c1"}, 2, 3},
		{"d2", "r2", deploy.KindDeploy, deploy.StateSucceeded, deploy.Details{SHA: "c2"}, 11, 12},
		{"rb", "r1", deploy.KindRollback, deploy.StateSucceeded, deploy.Details{SHA: "c1", RolledBackRelease: "r2"}, 14, 15},
		{"d3", "r3", deploy.KindDeploy, deploy.StateApplying, deploy.Details{SHA: "c9"}, 30, 0},
	} {
		det, err := json.Marshal(r.det)
		if err != nil {
			t.Fatal(err)
		}
		d := store.Deployment{ID: r.id, Repo: "o/data", ReleaseID: r.rel, Env: "prod", Kind: r.kind, State: r.state, Actor: "alice",
			Details: det, CreatedAt: hr(r.created), UpdatedAt: hr(r.created)}
		if r.finished > 0 {
			d.FinishedAt = hr(r.finished)
		}
		if err := db.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestStoreHistoryReadsWhatTheEngineWrites(t *testing.T) {
	db := seedStore(t)
	recs, err := StoreHistory(db)(context.Background(), "o/data", hr(0))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]DeployRecord{}
	for _, r := range recs {
		got[r.ID] = r
	}
	tests := []struct {
		id, sha, releaseSHA, rolledOff, kind string
		built                                time.Time
	}{
		{"d1", "c1", "c1", "", kindDeploy, hr(1)},
		{"d2", "c2", "c2", "", kindDeploy, hr(10)},
		{"rb", "c1", "c1", "r2", kindRollback, hr(1)},
		{"d3", "c9", "c3", "", kindDeploy, hr(20)},
	}
	for _, tc := range tests {
		r, ok := got[tc.id]
		if !ok {
			t.Errorf("%s not read", tc.id)
			continue
		}
		if r.SHA != tc.sha || r.ReleaseSHA != tc.releaseSHA || r.RolledBackRelease != tc.rolledOff || r.Kind != tc.kind || !r.ReleaseCreatedAt.Equal(tc.built) {
			t.Errorf("%s read as %+v", tc.id, r)
		}
	}

	hs, err := ReadHealth(context.Background(), StoreHistory(db), "o/data", hr(24), 24*time.Hour)
	if err != nil || len(hs) != 1 {
		t.Fatalf("health: %+v %v", hs, err)
	}
	h := hs[0]
	if h.Deploys != 2 || h.Failures != 1 || h.Rollbacks != 1 || h.Restores != 1 || h.TimeToRestore != 3*time.Hour ||
		refID(h.LastSuccess) != "rb" || refID(h.InFlight) != "d3" || h.LeadTime != 2*time.Hour {
		t.Fatalf("health from the store: %+v", h)
	}
	if other, err := ReadHealth(context.Background(), StoreHistory(db), "o/other", hr(24), 24*time.Hour); err != nil || len(other) != 0 {
		t.Fatalf("another repository's health: %+v %v", other, err)
	}
}

func TestHealthCollector(t *testing.T) {
	db := seedStore(t)
	reads := 0
	var fail error
	history := func(ctx context.Context, repo string, since time.Time) ([]DeployRecord, error) {
		reads++
		if fail != nil {
			return nil, fail
		}
		return StoreHistory(db)(ctx, repo, since)
	}
	now := hr(31)
	m := NewMetrics()
	m.WatchDeployments(history, HealthOptions{Window: 24 * time.Hour, CacheFor: time.Minute, Now: func() time.Time { return now }})
	scrape := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}

	body := scrape()
	l := `{env="prod",repo="o/data"}`
	for _, want := range []string{
		`conveyor_deploy_health_up 1`,
		// d1 finished before the day's window; d2 in it, taken off by rb.
		`conveyor_deploy_frequency_per_day` + l + ` 1`,
		`conveyor_deploy_changes` + l + ` 1`,
		`conveyor_deploy_change_failures` + l + ` 1`,
		`conveyor_deploy_change_failure_ratio` + l + ` 1`,
		`conveyor_deploy_lead_time_seconds{basis="release_created",env="prod",repo="o/data"} 7200`,
		`conveyor_deploy_time_to_restore_seconds` + l + ` 10800`,
		`conveyor_deploy_last_success_timestamp_seconds` + l + ` 1.7723772e+09`,
		`conveyor_deploy_healthy` + l + ` 1`,
		`conveyor_deploy_failing_seconds` + l + ` 0`,
		`conveyor_deploy_in_flight` + l + ` 1`,
		`conveyor_deploy_in_flight_seconds` + l + ` 3600`,
		`conveyor_inbox_depth 0`, // beside the server's own metrics
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if reads != 1 {
		t.Fatalf("one scrape read the history %d times", reads)
	}

	// Within the cache the history is not read again; the ages move on.
	now = now.Add(30 * time.Second)
	if body := scrape(); !strings.Contains(body, `conveyor_deploy_in_flight_seconds`+l+` 3630`) || reads != 1 {
		t.Fatalf("cached scrape: %d reads\n%s", reads, grep(body, "in_flight_seconds"))
	}

	// Past it, a failing read says so and shows no stale numbers.
	now = now.Add(time.Minute)
	fail = errors.New("database is down")
	body = scrape()
	if reads != 2 || !strings.Contains(body, "conveyor_deploy_health_up 0\n") || strings.Contains(body, "conveyor_deploy_changes{") {
		t.Fatalf("failed read: %d reads\n%s", reads, grep(body, "conveyor_deploy"))
	}
}

func grep(body, word string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
