package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/app"
	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

const (
	hookSecret = "e2e-webhook-secret"
	owner      = "parcelflow"
	repoName   = "data-platform"
)

// crashes is a check with a bug: it writes to a nil map.
type crashes struct{}

func (crashes) Name() string               { return "e2e/crashes" }
func (crashes) Applies(*checks.Input) bool { return true }
func (crashes) Run(context.Context, *checks.Input) (checks.Result, error) {
	var seen map[string]int
	//lint:ignore SA5000 the check crashes on purpose, as a real nil-map bug would
	seen["dags"]++
	return checks.Result{Conclusion: checks.Success}, nil
}

// noisy reports 120 findings on the first changed DAG: more than GitHub takes
// in one request.
type noisy struct{}

func (noisy) Name() string                  { return "e2e/noisy" }
func (noisy) Applies(in *checks.Input) bool { return len(in.ChangedIn("airflow")) > 0 }
func (noisy) Run(_ context.Context, in *checks.Input) (checks.Result, error) {
	path := in.ChangedIn("airflow")[0].Path
	anns := make([]checks.Annotation, 120)
	for i := range anns {
		anns[i] = checks.Annotation{Path: path, StartLine: i + 1, EndLine: i + 1, Level: checks.Warning, Rule: "E2E001", Message: fmt.Sprintf("finding %d", i+1)}
	}
	return checks.Result{Title: "120 findings", Summary: "Many findings.", Annotations: anns}, nil
}

// server is one life of a Conveyor server over loopback HTTP, on the SQLite
// file both lives share.
type server struct {
	app *app.App
	db  *store.DB
	srv *httptest.Server
}

// e2e is a GitHub emulator that sends its webhooks, signed, to whichever
// server is running.
type e2e struct {
	emu    *githubemu.Emulator
	repo   *githubemu.Repo
	dir    string
	checks []checks.Check // beside the built-in ones
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	// GitHub asks for the app's check suite after every push, as it does for
	// an app subscribed to check_suite; the server must not run checks twice.
	emu := githubemu.New(githubemu.Options{CheckSuiteOnPush: true, Account: owner})
	_, stop := emu.Start()
	t.Cleanup(stop)
	repo := emu.CreateRepo(owner, repoName, "main")
	repo.Commit("main", map[string]string{
		".conveyor.yml": `version: 1
components:
  - name: dags
    kind: airflow
    paths: ["dags/**/*.py"]
`,
		"dags/daily.py": "from airflow import DAG\n",
		"README.md":     "data platform\n",
	}, "initial", "alice")
	return &e2e{emu: emu, repo: repo, dir: t.TempDir(), checks: []checks.Check{crashes{}, noisy{}}}
}

// openPR opens a pull request before any server listens (its webhooks are
// only recorded), as on a repository the app is installed on later.
func (e *e2e) openPR() *githubemu.PullRequest {
	e.repo.CreateBranch("feature", "main")
	e.repo.Commit("feature", map[string]string{"dags/daily.py": "from airflow import DAG\n# tuned\n"}, "tune the DAG", "alice")
	return e.repo.OpenPullRequest(githubemu.PROptions{Head: "feature", Author: "alice", Title: "Tune the DAG"})
}

// start opens the state database and serves a new App on it. With workers
// false, deliveries are stored and acknowledged but nothing processes them,
// as in a server that stopped right after storing.
func (e *e2e) start(t *testing.T, workers bool) *server {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(e.dir, "conveyor.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseServer("e2e", []byte(fmt.Sprintf(`
github:
  app_id: %d
  api_url: %s/
  webhook_secrets: [%s]
inbox:
  workers: 2
  poll_interval: 50ms
  backoff_base: 100ms
`, e.emu.AppID(), e.emu.BaseURL(), hookSecret)), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{Config: cfg, PrivateKey: e.emu.AppPrivateKeyPEM(), Store: db, Logger: zerolog.Nop(),
		Checks: e.checks})
	if err != nil {
		t.Fatal(err)
	}
	if workers {
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{app: a, db: db, srv: httptest.NewServer(a.Handler())}
	e.emu.SetWebhookTarget(s.srv.URL+"/api/github/hook", hookSecret)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down and closes its database; safe to call twice.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.srv == nil {
		return
	}
	s.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.app.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := s.db.Close(); err != nil {
		t.Errorf("closing the store: %v", err)
	}
	s.srv = nil
}

// idle waits until the inbox holds no unfinished delivery.
func (s *server) idle(t *testing.T) {
	t.Helper()
	inbox := store.NewInbox(s.db)
	deadline := time.Now().Add(8 * time.Second)
	for {
		st, err := inbox.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 && st.Failed == 0 {
			return
		}
		if st.Failed > 0 || time.Now().After(deadline) {
			ds, _ := inbox.List(context.Background(), store.InboxFilter{})
			t.Fatalf("inbox not drained: %+v; deliveries %+v", st, ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastDelivery is the newest webhook of event, which must have been stored.
func (e *e2e) lastDelivery(t *testing.T, event string) githubemu.Delivery {
	t.Helper()
	d, ok := e.emu.LastDelivery(event)
	if !ok {
		t.Fatalf("no %s webhook was sent", event)
	}
	if d.Err != nil || d.Status != http.StatusAccepted {
		t.Fatalf("%s delivery %s answered %d (%v), want 202 stored", event, d.ID, d.Status, d.Err)
	}
	return d
}

// runs groups the check runs GitHub holds at sha by name.
func (e *e2e) runs(sha string) map[string][]githubemu.CheckRun {
	out := map[string][]githubemu.CheckRun{}
	for _, r := range e.repo.CheckRuns(sha) {
		out[r.Name] = append(out[r.Name], r)
	}
	return out
}

// once asserts that sha carries exactly one completed run of each of want's
// checks and of no other.
func (e *e2e) once(t *testing.T, sha string, want ...string) map[string]githubemu.CheckRun {
	t.Helper()
	runs := e.runs(sha)
	var got []string
	out := map[string]githubemu.CheckRun{}
	for name, rs := range runs {
		got = append(got, fmt.Sprintf("%s×%d", name, len(rs)))
		out[name] = rs[0]
		if rs[0].Status != "completed" {
			t.Errorf("%s at %.8s is %s, want completed", name, sha, rs[0].Status)
		}
	}
	sort.Strings(got)
	var exp []string
	for _, n := range want {
		exp = append(exp, n+"×1")
	}
	sort.Strings(exp)
	if !slices.Equal(got, exp) {
		t.Fatalf("check runs at %.8s: %v, want %v", sha, got, exp)
	}
	return out
}

// TestEndToEnd drives signed webhooks over HTTP from the emulator through the
// signature check, the durable inbox and the handlers, and reads what GitHub
// received from the emulator's record.
func TestEndToEnd(t *testing.T) {
	e := newE2E(t)
	// The checks a DAG change on a pull request gets: the built-in ones that
	// apply, the policy decision, and the test's two.
	prChecks := []string{"conveyor/config", "conveyor/airflow", "conveyor/policy", "e2e/crashes", "e2e/noisy"}

	pr := e.openPR()
	first := e.start(t, true)
	// A push to the PR's branch: GitHub sends push, pull_request
	// "synchronize" and check_suite "requested".
	head := e.repo.Commit("feature", map[string]string{"dags/daily.py": "from airflow import DAG\n# tuned twice\n"}, "tune it more", "alice")
	synchronize := e.lastDelivery(t, "pull_request")
	e.lastDelivery(t, "check_suite")
	first.idle(t)

	t.Run("a push to a pull request's branch is checked once", func(t *testing.T) {
		if pr.HeadSHA() != head {
			t.Fatalf("the PR's head is %.8s, want the pushed %.8s", pr.HeadSHA(), head)
		}
		e.once(t, head, prChecks...)
	})

	t.Run("a redelivered delivery is processed once", func(t *testing.T) {
		d, err := e.emu.Redeliver(synchronize.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != http.StatusOK {
			t.Fatalf("redelivery answered %d, want 200 (already stored)", d.Status)
		}
		first.idle(t)
		e.once(t, head, prChecks...)
		got, err := store.NewInbox(first.db).Get(context.Background(), synchronize.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.StatusDone || got.Attempts != 1 {
			t.Fatalf("delivery %s is %s after %d attempts, want done after 1", synchronize.ID, got.Status, got.Attempts)
		}
	})

	t.Run("a crashing check completes as a failure that names the panic", func(t *testing.T) {
		r := e.once(t, head, prChecks...)["e2e/crashes"]
		if r.Conclusion != "failure" || !strings.Contains(r.Output.Summary, "The check crashed") ||
			!strings.Contains(r.Output.Summary, "assignment to entry in nil map") {
			t.Fatalf("crashing check: %s %q", r.Conclusion, r.Output.Summary)
		}
		if out := r.Output.Summary + r.Output.Text; strings.Contains(out, "goroutine") || strings.Contains(out, ".go:") {
			t.Fatalf("the crash's stack reached the PR:\n%s", out)
		}
	})

	t.Run("120 annotations arrive in three updates", func(t *testing.T) {
		r := e.once(t, head, prChecks...)["e2e/noisy"]
		if len(r.Output.Annotations) != 120 {
			t.Fatalf("%d annotations on the run, want 120", len(r.Output.Annotations))
		}
		var batches []int
		for _, c := range e.emu.CallsTo(http.MethodPatch, fmt.Sprintf("/repos/%s/%s/check-runs/%d", owner, repoName, r.ID)) {
			if n := strings.Count(string(c.Body), `"annotation_level"`); n > 0 {
				batches = append(batches, n)
			}
		}
		if !slices.Equal(batches, []int{50, 50, 20}) {
			t.Fatalf("annotations went in updates of %v, want [50 50 20]", batches)
		}
	})

	// The server stops processing but its intake still answers: what it
	// stores now is processed by the next server on the same database.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	pushed := e.repo.Commit("feature", map[string]string{"dags/daily.py": "from airflow import DAG\n# tuned again\n"}, "tune it again", "alice")
	stored := []githubemu.Delivery{e.lastDelivery(t, "pull_request"), e.lastDelivery(t, "check_suite")}

	t.Run("deliveries stored before a stop are processed after the restart", func(t *testing.T) {
		if n := len(e.repo.CheckRuns(pushed)); n != 0 {
			t.Fatalf("%d check runs before any worker ran", n)
		}
		first.stop(t)
		second := e.start(t, true)
		second.idle(t)
		// synchronize and check_suite "requested" both arrived: one set of runs.
		e.once(t, pushed, prChecks...)
		for _, d := range stored {
			got, err := store.NewInbox(second.db).Get(context.Background(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != store.StatusDone || got.Attempts != 1 {
				t.Errorf("%s delivery %s is %s after %d attempts, want done after 1", d.Event, d.ID, got.Status, got.Attempts)
			}
		}

		t.Run("a push to a branch with no pull request is still checked", func(t *testing.T) {
			e.repo.CreateBranch("spike", "main")
			sha := e.repo.Commit("spike", map[string]string{"dags/daily.py": "from airflow import DAG\n# spike\n"}, "try something", "bob")
			e.lastDelivery(t, "check_suite")
			second.idle(t)
			e.once(t, sha, "conveyor/config", "conveyor/airflow", "e2e/crashes", "e2e/noisy")
		})

		t.Run("a pull request that turns a check off in .conveyor.yml still gets it", func(t *testing.T) {
			e.repo.CreateBranch("loosen", "main")
			e.repo.Commit("loosen", map[string]string{
				".conveyor.yml": "version: 1\ncomponents:\n  - name: dags\n    kind: airflow\n    paths: [\"dags/**/*.py\"]\nchecks:\n  airflow:\n    enabled: false\n",
				"dags/daily.py": "from airflow import DAG\n# quietly\n",
			}, "turn the DAG check off", "mallory")
			loose := e.repo.OpenPullRequest(githubemu.PROptions{Head: "loosen", Author: "mallory", Title: "Quieter checks"})
			second.idle(t)
			// The branch was pushed before its PR opened, so the push's
			// check suite may have run the checks too: every run counts.
			runs := e.runs(loose.HeadSHA())["conveyor/airflow"]
			if len(runs) == 0 {
				t.Fatal("no conveyor/airflow run on the PR")
			}
			for _, r := range runs {
				if r.Status != "completed" || r.Conclusion == "skipped" || strings.Contains(r.Output.Title, "Disabled") {
					t.Fatalf("conveyor/airflow on the PR: %s/%s %q — the head's config turned it off", r.Status, r.Conclusion, r.Output.Title)
				}
			}
		})
	})

	if u := e.emu.UnmatchedCalls(); len(u) > 0 {
		t.Errorf("calls to routes GitHub does not have: %+v", u)
	}
}

// leaks is a check that prints what it should not: the App's private key,
// whole and one line of it, as a careless debug line would.
type leaks struct{ key string }

func (leaks) Name() string               { return "e2e/leaks" }
func (leaks) Applies(*checks.Input) bool { return true }
func (l leaks) Run(context.Context, *checks.Input) (checks.Result, error) {
	lines := strings.Split(l.key, "\n")
	return checks.Result{Conclusion: checks.Neutral, Title: "debug",
		Summary: "environment:\n" + l.key, Text: "second line: " + lines[2]}, nil
}

func TestThePrivateKeyIsMasked(t *testing.T) {
	e := newE2E(t)
	key := string(e.emu.AppPrivateKeyPEM())
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(key), "\n") {
		if !strings.HasPrefix(l, "-----") && len(l) >= 16 {
			lines = append(lines, l)
		}
	}
	if len(lines) < 10 {
		t.Fatalf("the emulator's key has %d body lines; the test needs a real PEM", len(lines))
	}
	e.checks = []checks.Check{leaks{key: key}}
	pr := e.openPR()
	s := e.start(t, true)
	head := e.repo.Commit("feature", map[string]string{"dags/daily.py": "from airflow import DAG\n# again\n"}, "again", "alice")
	s.idle(t)

	w := timeline.New(e.emu.Client(), owner, repoName, s.app.Redactor)
	if _, err := w.Comment(context.Background(), pr.Number, "Pasted by mistake:\n```\n"+key+"```\nand reflowed: "+strings.Join(lines[3:6], " ")); err != nil {
		t.Fatal(err)
	}
	comments := pr.Comments()
	if len(comments) == 0 {
		t.Fatal("the comment was not posted")
	}
	run := e.once(t, head, "conveyor/config", "conveyor/airflow", "conveyor/policy", "e2e/leaks")["e2e/leaks"]
	written := map[string]string{
		"comment":           comments[len(comments)-1].Body,
		"check run summary": run.Output.Summary,
		"check run text":    run.Output.Text,
	}
	for where, body := range written {
		if !strings.Contains(body, timeline.Mask) {
			t.Errorf("%s shows no mask", where)
		}
		for i, l := range lines {
			if strings.Contains(body, l) {
				t.Errorf("%s shows line %d of the private key", where, i+1)
			}
		}
	}
	for _, c := range e.emu.Calls() {
		for _, l := range lines {
			if strings.Contains(string(c.Body), l) {
				t.Fatalf("%s %s sent a line of the private key to GitHub", c.Method, c.Path)
			}
		}
	}
}
