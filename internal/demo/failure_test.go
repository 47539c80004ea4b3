package demo

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
)

// TestFailedDeploymentIsReportedNotRetried: a release whose smoke test fails
// in staging is deployed to staging exactly once. The failure is the
// flow's outcome — said on the merged PR, prod never started — and the push
// handler succeeds, so the inbox does not redeliver the push and redeploy
// the bad release.
func TestFailedDeploymentIsReportedNotRetried(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, StackOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files, err := ReadFiles(filepath.Join("..", "..", "testdata", "sample-repo"))
	if err != nil {
		t.Fatal(err)
	}
	// The repo declares a smoke test; each warehouse is a DuckDB file named
	// after its environment, so a query can fail in staging alone.
	const smoke = "smoke/staging_guard.sql"
	files[config.RepoConfigPath] = strings.TrimRight(files[config.RepoConfigPath], "\n") + "\n  smoke_sql: [" + smoke + "]\n"
	files[smoke] = "SELECT 1 AS broken WHERE false\n"
	s.Repo = s.Emu.CreateRepo(Org, RepoName, "main")
	s.Repo.Commit("main", files, "Import the data platform repo with a smoke test", "devops-bot")
	s.AddPeople()

	const dag = "dags/customer_metrics_taskflow.py"
	s.Repo.Commit("breaks-staging", map[string]string{
		dag:   files[dag] + "\n# reads the new staging table\n",
		smoke: "SELECT current_database() AS db WHERE current_database() = 'staging'\n",
	}, "Read the new staging table", "alice")
	pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: "breaks-staging", Base: "main", Title: "Read the new staging table", Author: "alice"})
	approveAndWait(t, s, pr)
	sha := pr.Merge("bob")

	var comment string
	waitFor(t, "the deploy comment to report the failure", 30*time.Second, func() bool {
		for _, c := range pr.Comments() {
			if strings.Contains(c.Body, "The deployment to staging failed") {
				comment = c.Body
				return true
			}
		}
		return false
	})
	if !strings.Contains(comment, "Deployed to dev") || !strings.Contains(comment, "smoke tests failed") || !strings.Contains(comment, "not retried") {
		t.Fatalf("the deploy comment does not say what happened:\n%s", comment)
	}
	// Give the inbox the time it would take to retry (backoff starts at 200 ms).
	time.Sleep(2 * time.Second)
	var staging, prod int
	for _, d := range s.Repo.Deployments() {
		switch d.Environment {
		case "staging":
			staging++
			if d.SHA != sha || d.State() != "failure" {
				t.Errorf("staging deployment at %.7s ended %q, want the merge commit %.7s, failure", d.SHA, d.State(), sha)
			}
		case "prod":
			prod++
		}
	}
	if staging != 1 || prod != 0 {
		t.Fatalf("%d staging and %d prod deployments; want exactly one staging attempt and no prod", staging, prod)
	}
	ds, err := store.NewInbox(s.Store).List(ctx, store.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	in := store.NewInbox(s.Store)
	merged := 0
	for _, listed := range ds {
		if listed.EventType != "push" {
			continue
		}
		d, err := in.Get(ctx, listed.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(d.Payload), sha) {
			continue
		}
		merged++
		if d.Status != store.StatusDone || d.Attempts != 1 || d.LastError != "" {
			t.Fatalf("push delivery %s: %s after %d attempts (%q); want done after one, without error", d.ID, d.Status, d.Attempts, d.LastError)
		}
	}
	if merged != 1 {
		t.Fatalf("%d push deliveries of the merge commit, want one", merged)
	}
}
