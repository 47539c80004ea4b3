package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/configcheck"
	"github.com/parcelflow/conveyor/handlers"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/timeline"
)

const baseConfig = `version: 1
components:
  - name: dags
    kind: airflow
    paths: ["dags/**/*.py"]
  - name: warehouse
    kind: dbt
    paths: ["models/**"]
`

const secret = "hunter2-very-secret"

// panics is a check that crashes.
type panics struct{}

func (panics) Name() string               { return "test/panics" }
func (panics) Applies(*checks.Input) bool { return true }
func (panics) Run(context.Context, *checks.Input) (checks.Result, error) {
	var m map[string]int
	//lint:ignore SA5000 the check panics on purpose
	m["boom"]++ // a nil-map write, as a real bug would
	return checks.Result{}, nil
}

// fails is a check that cannot run.
type fails struct{}

func (fails) Name() string               { return "test/errors" }
func (fails) Applies(*checks.Input) bool { return true }
func (fails) Run(context.Context, *checks.Input) (checks.Result, error) {
	return checks.Result{}, errors.New("warehouse unreachable at " + secret)
}

// noisy reports 120 findings on changed DAGs.
type noisy struct{}

func (noisy) Name() string { return "test/noisy" }
func (noisy) Applies(in *checks.Input) bool {
	return len(in.ChangedIn("airflow")) > 0
}
func (noisy) Run(_ context.Context, in *checks.Input) (checks.Result, error) {
	path := in.ChangedIn("airflow")[0].Path
	anns := make([]checks.Annotation, 120)
	for i := range anns {
		anns[i] = checks.Annotation{Path: path, StartLine: i + 1, EndLine: i + 1, Level: checks.Warning, Rule: "T001", Message: fmt.Sprintf("finding %d", i+1)}
	}
	return checks.Result{Title: "120 findings", Summary: "Many findings.", Annotations: anns, Conclusion: checks.Neutral}, nil
}

// seen is what the witness check was shown.
type seen struct {
	Head       []string
	Changes    []string
	Components []string
	Detected   bool
}

// witness records the input it is given, to show which commits and config a run used.
type witness struct {
	mu   sync.Mutex
	seen []seen
}

func (*witness) Name() string               { return "test/witness" }
func (*witness) Applies(*checks.Input) bool { return true }
func (w *witness) Run(_ context.Context, in *checks.Input) (checks.Result, error) {
	s := seen{Head: in.Head.Files(), Detected: in.Config.Detected}
	for _, c := range in.Changes {
		s.Changes = append(s.Changes, string(c.Status)+" "+c.Path)
	}
	for _, c := range in.Config.Components {
		s.Components = append(s.Components, c.Name)
	}
	w.mu.Lock()
	w.seen = append(w.seen, s)
	w.mu.Unlock()
	return checks.Result{Conclusion: checks.Success, Title: "seen", Summary: "seen"}, nil
}

func (w *witness) last(t *testing.T) seen {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seen) == 0 {
		t.Fatal("the witness check never ran")
	}
	return w.seen[len(w.seen)-1]
}

type harness struct {
	emu      *githubemu.Emulator
	repo     *githubemu.Repo
	witness  *witness
	deps     handlers.Deps
	handlers map[string]githubapp.EventHandler
}

func newHarness(t testing.TB, registry func(w *witness) *checks.Registry, tweak func(*handlers.Deps)) *harness {
	t.Helper()
	return newHarnessWith(t, githubemu.Options{}, registry, tweak)
}

// newHarnessWith is newHarness on an emulator built with opts.
func newHarnessWith(t testing.TB, opts githubemu.Options, registry func(w *witness) *checks.Registry, tweak func(*handlers.Deps)) *harness {
	t.Helper()
	emu := githubemu.New(opts)
	base, stop := emu.Start()
	t.Cleanup(stop)
	repo := emu.CreateRepo("parcelflow", "data-platform", "main")
	repo.Commit("main", map[string]string{
		".conveyor.yml":      baseConfig,
		"README.md":          "data platform\n",
		"dags/daily.py":      "from airflow import DAG\n",
		"models/orders.sql":  "select 1 as id\n",
		"models/schema.yml":  "version: 2\n",
		"dags/lib/helper.py": "def helper():\n    return 1\n",
	}, "initial", "alice")
	w := &witness{}
	reg := checks.NewRegistry(configcheck.Check{}, panics{}, fails{}, noisy{}, w)
	if registry != nil {
		reg = registry(w)
	}
	deps := handlers.Deps{
		Clients:  githubapp.NewClientCreator(base+"/", base+"/api/graphql", emu.AppID(), emu.AppPrivateKeyPEM()),
		Registry: reg,
		Logger:   zerolog.Nop(),
		AppID:    emu.AppID(),
		Redactor: timeline.NewRedactor(secret),
		Retry:    timeline.Retry{Sleep: func(context.Context, time.Duration) error { return nil }},
		DetailsURL: func(owner, repo, sha, check string) string {
			return fmt.Sprintf("https://conveyor.example/%s/%s/%s?check=%s", owner, repo, sha, check)
		},
	}
	if tweak != nil {
		tweak(&deps)
	}
	h := &harness{emu: emu, repo: repo, witness: w, deps: deps, handlers: map[string]githubapp.EventHandler{}}
	for _, eh := range handlers.New(deps) {
		for _, ev := range eh.Handles() {
			h.handlers[ev] = eh
		}
	}
	return h
}

// openPR branches from main, commits files and opens a pull request.
func (h *harness) openPR(t testing.TB, files map[string]string) *githubemu.PullRequest {
	t.Helper()
	h.repo.CreateBranch("feature", "main")
	h.repo.Commit("feature", files, "change", "alice")
	return h.repo.OpenPullRequest(githubemu.PROptions{Head: "feature", Title: "A change", Author: "alice"})
}

func (h *harness) handle(t *testing.T, event string, payload []byte) (string, error) {
	t.Helper()
	eh, ok := h.handlers[event]
	if !ok {
		t.Fatalf("no handler for %s", event)
	}
	delivery := githubemu.NewDeliveryID()
	return delivery, eh.Handle(context.Background(), event, delivery, payload)
}

// runs maps check name → the runs on sha, oldest first.
func (h *harness) runs(sha string) map[string][]githubemu.CheckRun {
	out := map[string][]githubemu.CheckRun{}
	for _, r := range h.repo.CheckRuns(sha) {
		out[r.Name] = append(out[r.Name], r)
	}
	return out
}

func names(m map[string][]githubemu.CheckRun) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (h *harness) assertAllCompleted(t *testing.T, sha string) {
	t.Helper()
	for _, r := range h.repo.CheckRuns(sha) {
		if r.Status != "completed" || r.Conclusion == "" {
			t.Errorf("run %s (%d) is %s/%q, want completed", r.Name, r.ID, r.Status, r.Conclusion)
		}
	}
	if u := h.emu.UnmatchedCalls(); len(u) > 0 {
		t.Errorf("calls to routes GitHub does not have: %+v", u)
	}
	for _, c := range h.emu.Calls() {
		if strings.Contains(string(c.Body), secret) {
			t.Errorf("%s %s sent the secret", c.Method, c.Path)
		}
	}
}

func TestPullRequestRunsEveryApplicableCheck(t *testing.T) {
	h := newHarness(t, nil, nil)
	pr := h.openPR(t, map[string]string{"dags/daily.py": "from airflow import DAG\n# changed\n"})
	h.emu.ResetCalls()
	delivery, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	sha := pr.HeadSHA()
	runs := h.runs(sha)
	if got, want := names(runs), []string{"conveyor/config", "test/errors", "test/noisy", "test/panics", "test/witness"}; !slices.Equal(got, want) {
		t.Fatalf("check runs %v, want %v", got, want)
	}
	h.assertAllCompleted(t, sha)

	tests := []struct {
		check, conclusion, summaryHas string
		annotations                   int
	}{
		{"conveyor/config", "success", "base branch", 0},
		{"test/panics", "failure", "The check crashed", 0},
		{"test/errors", "failure", "warehouse unreachable at " + timeline.Mask, 0},
		{"test/noisy", "neutral", "Many findings", 120},
		{"test/witness", "success", "seen", 0},
	}
	for _, tt := range tests {
		t.Run(tt.check, func(t *testing.T) {
			r := runs[tt.check][0]
			if len(runs[tt.check]) != 1 {
				t.Errorf("%d runs, want 1", len(runs[tt.check]))
			}
			if r.Conclusion != tt.conclusion || !strings.Contains(r.Output.Summary, tt.summaryHas) {
				t.Errorf("conclusion %q summary %q; want %q containing %q", r.Conclusion, r.Output.Summary, tt.conclusion, tt.summaryHas)
			}
			if len(r.Output.Annotations) != tt.annotations {
				t.Errorf("%d annotations, want %d", len(r.Output.Annotations), tt.annotations)
			}
			if r.HeadSHA != sha || !strings.HasPrefix(r.ExternalID, tt.check+"@"+delivery+"#") || !strings.Contains(r.DetailsURL, "check="+tt.check) {
				t.Errorf("run at %s external id %q details %q; want the PR head, name@delivery#… and a details link", r.HeadSHA, r.ExternalID, r.DetailsURL)
			}
		})
	}

	t.Run("120 annotations take three requests", func(t *testing.T) {
		withAnnotations := 0
		for _, c := range h.emu.CallsTo(http.MethodPatch, fmt.Sprintf("/repos/parcelflow/data-platform/check-runs/%d", runs["test/noisy"][0].ID)) {
			if strings.Contains(string(c.Body), `"annotations":[`) {
				withAnnotations++
			}
		}
		if withAnnotations != 3 {
			t.Fatalf("%d requests carried annotations, want 3", withAnnotations)
		}
	})
	t.Run("every run is listed before any starts", func(t *testing.T) {
		var order []string
		for _, c := range h.emu.Calls() {
			if strings.Contains(c.Path, "/check-runs") {
				order = append(order, c.Method)
			}
		}
		firstPatch := slices.Index(order, http.MethodPatch)
		if firstPatch != 5 || slices.Contains(order[firstPatch:], http.MethodPost) {
			t.Fatalf("check-run requests %v: want five creations, then updates", order)
		}
	})
	t.Run("checks saw the PR's change only", func(t *testing.T) {
		s := h.witness.last(t)
		if !slices.Equal(s.Changes, []string{"modified dags/daily.py"}) || !slices.Equal(s.Components, []string{"dags", "warehouse"}) {
			t.Fatalf("witness saw changes %v components %v", s.Changes, s.Components)
		}
	})
}

func TestPullRequestActions(t *testing.T) {
	tests := []struct {
		action   string
		wantRuns int
	}{
		{"opened", 5}, {"synchronize", 5}, {"reopened", 5}, {"ready_for_review", 5},
		{"closed", 0}, {"labeled", 0}, {"edited", 0},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			h := newHarness(t, nil, nil)
			pr := h.openPR(t, map[string]string{"dags/new.py": "from airflow import DAG\n"})
			if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, tt.action, "alice")); err != nil {
				t.Fatal(err)
			}
			if got := len(h.repo.CheckRuns(pr.HeadSHA())); got != tt.wantRuns {
				t.Fatalf("%d check runs, want %d", got, tt.wantRuns)
			}
			h.assertAllCompleted(t, pr.HeadSHA())
		})
	}
}

func TestConfigComesFromTheBaseBranch(t *testing.T) {
	onlyConfig := func(w *witness) *checks.Registry { return checks.NewRegistry(configcheck.Check{}, w) }
	tests := []struct {
		name string
		// base replaces main's config before the PR branches; "" keeps baseConfig.
		base string
		head map[string]string
		// moveMain commits to main after the PR was opened.
		moveMain       map[string]string
		wantConclusion string
		wantSummary    string
		wantAnnotation string
		wantComponents []string
	}{
		{
			name:           "head loosens the config",
			head:           map[string]string{".conveyor.yml": "version: 1\ncomponents:\n  - {name: everything, kind: dbt, paths: [\"**\"]}\n", "dags/daily.py": "x = 1\n"},
			wantConclusion: "success", wantSummary: "This change edits `.conveyor.yml`",
			wantComponents: []string{"dags", "warehouse"},
		},
		{
			name:           "head breaks the config",
			head:           map[string]string{".conveyor.yml": "version: 1\ncomponentz: []\n"},
			wantConclusion: "failure", wantAnnotation: "Invalid .conveyor.yml (this change)",
			wantComponents: []string{"dags", "warehouse"},
		},
		{
			name:           "base config is invalid",
			base:           "version: 1\ncomponents:\n  - {name: d, kind: spark, paths: [x]}\n",
			head:           map[string]string{"dags/daily.py": "x = 2\n"},
			wantConclusion: "failure", wantAnnotation: "Invalid .conveyor.yml (base branch)",
		},
		{
			// The base branch's glob is warned about, not failed: the PR did not write it.
			name:           "component path matches nothing",
			base:           baseConfig + "  - name: ghost\n    kind: contracts\n    paths: [\"contracts/**\"]\n",
			head:           map[string]string{"models/orders.sql": "select 2 as id\n"},
			wantConclusion: "success", wantAnnotation: "Component path matches nothing",
			wantComponents: []string{"dags", "warehouse", "ghost"},
		},
		{
			name:           "main moved on after the PR branched",
			head:           map[string]string{"dags/daily.py": "x = 3\n"},
			moveMain:       map[string]string{".conveyor.yml": baseConfig + "  - name: docs\n    kind: contracts\n    paths: [\"README.md\"]\n", "contracts/orders.yaml": "name: orders\n"},
			wantConclusion: "success",
			wantComponents: []string{"dags", "warehouse", "docs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, onlyConfig, nil)
			if tt.base != "" {
				h.repo.Commit("main", map[string]string{".conveyor.yml": tt.base}, "config", "alice")
			}
			pr := h.openPR(t, tt.head)
			if tt.moveMain != nil {
				h.repo.Commit("main", tt.moveMain, "main moves on", "bob")
			}
			if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "synchronize", "alice")); err != nil {
				t.Fatal(err)
			}
			h.assertAllCompleted(t, pr.HeadSHA())
			runs := h.runs(pr.HeadSHA())
			cfg := runs[configcheck.Name]
			if len(cfg) != 1 {
				t.Fatalf("%d config runs, want 1", len(cfg))
			}
			r := cfg[0]
			if r.Conclusion != tt.wantConclusion || !strings.Contains(r.Output.Summary, tt.wantSummary) {
				t.Errorf("config run %s: %s; want %s containing %q", r.Conclusion, r.Output.Summary, tt.wantConclusion, tt.wantSummary)
			}
			if tt.wantAnnotation != "" && !slices.ContainsFunc(r.Output.Annotations, func(a githubemu.Annotation) bool { return a.Title == tt.wantAnnotation }) {
				t.Errorf("annotations %+v lack %q", r.Output.Annotations, tt.wantAnnotation)
			}
			if tt.wantComponents != nil {
				s := h.witness.last(t)
				if !slices.Equal(s.Components, tt.wantComponents) || s.Detected {
					t.Errorf("checks ran under components %v (detected %v), want the base branch's %v", s.Components, s.Detected, tt.wantComponents)
				}
				if tt.moveMain != nil && slices.ContainsFunc(s.Changes, func(c string) bool { return strings.Contains(c, "contracts/") }) {
					t.Errorf("changes %v include main's own commits", s.Changes)
				}
			}
		})
	}
}

func TestMergeGroupRunsRealChecksAtTheGroupHead(t *testing.T) {
	h := newHarness(t, nil, nil)
	pr := h.openPR(t, map[string]string{"dags/daily.py": "from airflow import DAG\n# queued\n"})
	h.repo.Commit("main", map[string]string{"models/customers.sql": "select 1\n"}, "another PR merged", "bob")
	mg := pr.EnqueueMergeGroup("alice")
	d, ok := h.emu.LastDelivery("merge_group")
	if !ok {
		t.Fatal("no merge_group webhook")
	}
	if _, err := h.handle(t, "merge_group", d.Payload); err != nil {
		t.Fatal(err)
	}
	if n := len(h.repo.CheckRuns(pr.HeadSHA())); n != 0 {
		t.Errorf("%d runs on the PR head; merge group runs belong on the group head", n)
	}
	runs := h.runs(mg.HeadSHA)
	if got, want := names(runs), []string{"conveyor/config", "test/errors", "test/noisy", "test/panics", "test/witness"}; !slices.Equal(got, want) {
		t.Fatalf("runs at the group head %v, want %v", got, want)
	}
	h.assertAllCompleted(t, mg.HeadSHA)
	if c := runs["test/panics"][0].Conclusion; c != "failure" {
		t.Errorf("the crashing check concluded %q on the merge group: no blanket success", c)
	}
	s := h.witness.last(t)
	if !slices.Contains(s.Head, "models/customers.sql") || !slices.Equal(s.Changes, []string{"modified dags/daily.py"}) {
		t.Errorf("merge group check saw head %v changes %v; want main's latest plus the PR's change", s.Head, s.Changes)
	}
	t.Run("destroyed is ignored", func(t *testing.T) {
		before := len(h.emu.Calls())
		payload := strings.Replace(string(d.Payload), `"checks_requested"`, `"destroyed"`, 1)
		if _, err := h.handle(t, "merge_group", []byte(payload)); err != nil {
			t.Fatal(err)
		}
		if after := len(h.emu.Calls()); after != before {
			t.Fatalf("%d GitHub calls for a destroyed merge group", after-before)
		}
	})
}

func TestCheckRunRerequestedRerunsOnlyThatCheck(t *testing.T) {
	h := newHarness(t, nil, nil)
	pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
	if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice")); err != nil {
		t.Fatal(err)
	}
	sha := pr.HeadSHA()
	first := h.runs(sha)
	noisyRun := first["test/noisy"][0]
	h.repo.RerequestCheckRun(noisyRun.ID, "alice")
	d, _ := h.emu.LastDelivery("check_run")
	delivery, err := h.handle(t, "check_run", d.Payload)
	if err != nil {
		t.Fatal(err)
	}
	after := h.runs(sha)
	for name, rs := range after {
		want := 1
		if name == "test/noisy" {
			want = 2
		}
		if len(rs) != want {
			t.Errorf("%s has %d runs after re-running test/noisy, want %d", name, len(rs), want)
		}
	}
	rerun := after["test/noisy"][1]
	if !strings.HasPrefix(rerun.ExternalID, "test/noisy@"+delivery+"#") || rerun.Status != "completed" || len(rerun.Output.Annotations) != 120 {
		t.Errorf("re-run = %s/%s with %d annotations, external id %q", rerun.Status, rerun.Conclusion, len(rerun.Output.Annotations), rerun.ExternalID)
	}
	h.assertAllCompleted(t, sha)

	t.Run("a check this server lacks is ignored", func(t *testing.T) {
		other := newHarness(t, func(w *witness) *checks.Registry { return checks.NewRegistry(configcheck.Check{}) }, nil)
		opr := other.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
		gh := other.emu.Client()
		run, _, err := gh.Checks.CreateCheckRun(context.Background(), "parcelflow", "data-platform", githubCreate("conveyor/retired", opr.HeadSHA()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.handle(t, "check_run", other.emu.CheckRunPayload(other.repo, run.GetID(), "rerequested", "alice")); err != nil {
			t.Fatal(err)
		}
		if n := len(other.repo.CheckRuns(opr.HeadSHA())); n != 1 {
			t.Fatalf("%d runs, want only the retired one", n)
		}
	})
}

func TestCheckSuiteRunsEveryCheck(t *testing.T) {
	all := []string{"conveyor/config", "test/errors", "test/noisy", "test/panics", "test/witness"}
	// A commit on main is compared with main itself: nothing changed, so the
	// DAG check has nothing to look at. Other branches are compared with main.
	onMain := []string{"conveyor/config", "test/errors", "test/panics", "test/witness"}
	tests := []struct {
		name, action string
		commit       func(t *testing.T, h *harness) string
		want         []string
	}{
		{"requested for a push to main", "requested", pushToMain, onMain},
		{"rerequested for a push to main", "rerequested", pushToMain, onMain},
		{"requested for a branch with no pull request", "requested", func(t *testing.T, h *harness) string {
			h.repo.CreateBranch("spike", "main")
			return h.repo.Commit("spike", map[string]string{"dags/daily.py": "x = 3\n"}, "push a branch", "alice")
		}, all},
		{"requested for a merged pull request's merge commit", "requested", func(t *testing.T, h *harness) string {
			return h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"}).Merge("alice")
		}, onMain},
		// pull_request runs the checks of a PR's head; the suite would run them twice.
		{"requested for a pull request's head", "requested", func(t *testing.T, h *harness) string {
			return h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"}).HeadSHA()
		}, nil},
		{"requested for a fork pull request's head", "requested", func(t *testing.T, h *harness) string {
			h.repo.CreateBranch("contrib", "main")
			h.repo.Commit("contrib", map[string]string{"dags/daily.py": "x = 1\n"}, "change", "bob")
			return h.repo.OpenPullRequest(githubemu.PROptions{Head: "contrib", Author: "bob", Fork: true}).HeadSHA()
		}, nil},
		// merge_group runs the checks of a queued commit.
		{"requested for a merge queue commit", "requested", func(t *testing.T, h *harness) string {
			return h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"}).EnqueueMergeGroup("alice").HeadSHA
		}, nil},
		{"rerequested for a pull request's head", "rerequested", func(t *testing.T, h *harness) string {
			return h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"}).HeadSHA()
		}, all},
		{"rerequested for a merge queue commit", "rerequested", func(t *testing.T, h *harness) string {
			return h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"}).EnqueueMergeGroup("alice").HeadSHA
		}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, nil)
			sha := tt.commit(t, h)
			if _, err := h.handle(t, "check_suite", h.emu.CheckSuitePayload(h.repo, sha, tt.action, "alice")); err != nil {
				t.Fatal(err)
			}
			runs := h.runs(sha)
			if got := names(runs); !slices.Equal(got, tt.want) {
				t.Fatalf("runs %v, want %v", got, tt.want)
			}
			for name, rs := range runs {
				if len(rs) != 1 {
					t.Errorf("%s has %d runs, want 1", name, len(rs))
				}
			}
			h.assertAllCompleted(t, sha)
		})
	}
	t.Run("the pull request lookup failing runs the checks", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		sha := pushToMain(t, h)
		h.emu.FailNext(http.MethodGet, "/repos/parcelflow/data-platform/commits/*/pulls", http.StatusBadGateway, 10, nil)
		if _, err := h.handle(t, "check_suite", h.emu.CheckSuitePayload(h.repo, sha, "requested", "alice")); err != nil {
			t.Fatal(err)
		}
		if got := names(h.runs(sha)); !slices.Equal(got, onMain) {
			t.Fatalf("runs %v, want %v: a commit is checked twice rather than not at all", got, onMain)
		}
	})
}

func pushToMain(t *testing.T, h *harness) string {
	return h.repo.Commit("main", map[string]string{"dags/daily.py": "x = 2\n"}, "push to main", "alice")
}

// TestEveryPushIsCheckedOnce delivers every webhook GitHub sends for a push
// when the app subscribes to check suites: a push to a PR's branch brings
// pull_request "synchronize" and check_suite "requested", a queued PR brings
// merge_group and check_suite "requested". Each commit gets one run per check.
func TestEveryPushIsCheckedOnce(t *testing.T) {
	h := newHarnessWith(t, githubemu.Options{CheckSuiteOnPush: true}, nil, nil)
	deliverAll := func(t *testing.T) {
		t.Helper()
		for _, d := range h.emu.Deliveries() {
			if _, ok := h.handlers[d.Event]; !ok {
				continue
			}
			if _, err := h.handle(t, d.Event, d.Payload); err != nil {
				t.Fatalf("%s %s: %v", d.Event, d.Action, err)
			}
		}
		h.emu.ResetDeliveries()
	}
	once := func(t *testing.T, sha string, want []string) {
		t.Helper()
		runs := h.runs(sha)
		if got := names(runs); !slices.Equal(got, want) {
			t.Fatalf("runs at %.8s: %v, want %v", sha, got, want)
		}
		for name, rs := range runs {
			if len(rs) != 1 {
				t.Errorf("%s ran %d times at %.8s, want once", name, len(rs), sha)
			}
		}
		h.assertAllCompleted(t, sha)
	}
	all := []string{"conveyor/config", "test/errors", "test/noisy", "test/panics", "test/witness"}
	h.emu.ResetDeliveries()

	pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
	deliverAll(t)
	once(t, pr.HeadSHA(), all)

	next := h.repo.Commit("feature", map[string]string{"dags/daily.py": "x = 2\n"}, "another push", "alice")
	var events []string
	for _, d := range h.emu.Deliveries() {
		events = append(events, d.Event+"/"+d.Action)
	}
	if !slices.Equal(events, []string{"push/", "pull_request/synchronize", "check_suite/requested"}) {
		t.Fatalf("a push to the PR's branch sent %v; the test needs both triggers", events)
	}
	deliverAll(t)
	once(t, next, all)

	mg := pr.EnqueueMergeGroup("alice")
	deliverAll(t)
	once(t, mg.HeadSHA, all)

	h.repo.CreateBranch("spike", "main")
	spike := h.repo.Commit("spike", map[string]string{"dags/daily.py": "x = 3\n"}, "no PR here", "alice")
	deliverAll(t)
	once(t, spike, all)
}

func TestEveryRunCompletes(t *testing.T) {
	t.Run("a check that overruns", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		h := newHarness(t, func(*witness) *checks.Registry {
			return checks.NewRegistry(configcheck.Check{}, stuck{release})
		}, func(d *handlers.Deps) { d.CheckTimeout = 50 * time.Millisecond })
		pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
		if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice")); err != nil {
			t.Fatal(err)
		}
		h.assertAllCompleted(t, pr.HeadSHA())
		r := h.runs(pr.HeadSHA())["test/stuck"][0]
		if r.Conclusion != "failure" || !strings.Contains(r.Output.Summary, "did not finish within 50ms") {
			t.Fatalf("overrunning check: %s %q", r.Conclusion, r.Output.Summary)
		}
	})
	t.Run("GitHub refuses the result", func(t *testing.T) {
		h := newHarness(t, func(*witness) *checks.Registry { return checks.NewRegistry(configcheck.Check{}) }, nil)
		pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
		// The first PATCH starts the run (a refusal there is tolerated); the second carries the result.
		h.emu.FailNext(http.MethodPatch, "/repos/parcelflow/data-platform/check-runs/*", http.StatusUnprocessableEntity, 2, nil)
		if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice")); err != nil {
			t.Fatalf("a run completed as failure should not fail the delivery: %v", err)
		}
		h.assertAllCompleted(t, pr.HeadSHA())
		r := h.runs(pr.HeadSHA())[configcheck.Name][0]
		if r.Conclusion != "failure" || !strings.Contains(r.Output.Summary, "Conveyor stopped before this check finished") {
			t.Fatalf("run = %s %q, want a failure that says why", r.Conclusion, r.Output.Summary)
		}
	})
	t.Run("GitHub refuses every write", func(t *testing.T) {
		h := newHarness(t, func(*witness) *checks.Registry { return checks.NewRegistry(configcheck.Check{}) }, nil)
		pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
		h.emu.FailNext(http.MethodPatch, "/repos/parcelflow/data-platform/check-runs/*", http.StatusUnprocessableEntity, 100, nil)
		if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice")); err == nil {
			t.Fatal("the delivery succeeded although no result reached GitHub")
		}
	})
	t.Run("the change cannot be loaded", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
		h.emu.FailNext(http.MethodGet, "/repos/parcelflow/data-platform/tarball/*", http.StatusNotFound, 10, nil)
		if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice")); err != nil {
			t.Fatalf("a reported load failure should not fail the delivery: %v", err)
		}
		runs := h.runs(pr.HeadSHA())
		if got := names(runs); !slices.Equal(got, []string{configcheck.Name}) {
			t.Fatalf("runs %v, want only a failed %s", got, configcheck.Name)
		}
		if r := runs[configcheck.Name][0]; r.Conclusion != "failure" || !strings.Contains(r.Output.Summary, "could not read this change") {
			t.Fatalf("run = %s %q", r.Conclusion, r.Output.Summary)
		}
		h.assertAllCompleted(t, pr.HeadSHA())
	})
	t.Run("GitHub stumbles while loading", func(t *testing.T) {
		h := newHarness(t, func(w *witness) *checks.Registry { return checks.NewRegistry(configcheck.Check{}, w) }, nil)
		pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
		h.emu.FailNext(http.MethodGet, "/repos/parcelflow/data-platform/compare/", http.StatusBadGateway, 1, nil)
		h.emu.FailNext(http.MethodGet, "/repos/parcelflow/data-platform/tarball/", http.StatusForbidden, 1, map[string]string{"Retry-After": "2"})
		if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice")); err != nil {
			t.Fatal(err)
		}
		if r := h.runs(pr.HeadSHA())[configcheck.Name][0]; r.Conclusion != "success" {
			t.Fatalf("config run %s after retried reads, want success: %s", r.Conclusion, r.Output.Summary)
		}
	})
}

// stuck ignores its context until released, as a hung subprocess would.
type stuck struct{ release chan struct{} }

func (stuck) Name() string               { return "test/stuck" }
func (stuck) Applies(*checks.Input) bool { return true }
func (s stuck) Run(context.Context, *checks.Input) (checks.Result, error) {
	<-s.release
	return checks.Result{Conclusion: checks.Success}, nil
}

func TestTreesAreDownloadedOncePerCommit(t *testing.T) {
	h := newHarness(t, nil, nil)
	pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
	for i := range 3 {
		if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "synchronize", "alice")); err != nil {
			t.Fatal(err)
		}
		// head and merge base, on the first delivery only
		if n := len(h.emu.CallsTo(http.MethodGet, "/repos/parcelflow/data-platform/tarball/")); n != 2 {
			t.Fatalf("after delivery %d: %d tarball downloads, want 2", i+1, n)
		}
	}
}

// buttons offers one action on failed runs and records presses.
type buttons struct {
	mu      sync.Mutex
	pressed []string
}

func (b *buttons) Actions(res checks.Result) []timeline.Action {
	if res.Conclusion != checks.Failure {
		return nil
	}
	return []timeline.Action{{Label: "Request waiver", Description: "Ask owners to accept this failure", Identifier: "waive"}}
}

func (b *buttons) HandleAction(ctx context.Context, w *timeline.Writer, ev *github.CheckRunEvent) error {
	b.mu.Lock()
	b.pressed = append(b.pressed, ev.GetCheckRun().GetName()+":"+ev.GetRequestedAction().Identifier)
	b.mu.Unlock()
	_, err := w.Comment(ctx, ev.GetCheckRun().PullRequests[0].GetNumber(), "Waiver requested for "+ev.GetCheckRun().GetName())
	return err
}

func TestCheckRunActions(t *testing.T) {
	b := &buttons{}
	h := newHarness(t, nil, func(d *handlers.Deps) { d.Actions = b })
	pr := h.openPR(t, map[string]string{"dags/daily.py": "x = 1\n"})
	if _, err := h.handle(t, "pull_request", h.emu.PullRequestPayload(pr, "opened", "alice")); err != nil {
		t.Fatal(err)
	}
	runs := h.runs(pr.HeadSHA())
	if a := runs["test/panics"][0].Actions; len(a) != 1 || a[0].Identifier != "waive" {
		t.Fatalf("failed run offers %+v, want the waive button", a)
	}
	if a := runs["conveyor/config"][0].Actions; len(a) != 0 {
		t.Fatalf("passing run offers %+v, want none", a)
	}
	h.repo.RequestAction(runs["test/panics"][0].ID, "waive", "alice")
	d, _ := h.emu.LastDelivery("check_run")
	if _, err := h.handle(t, "check_run", d.Payload); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(b.pressed) != "[test/panics:waive]" {
		t.Fatalf("presses = %v", b.pressed)
	}
	if c := pr.Comments(); len(c) != 1 || timeline.CommentText(c[0].Body) != "Waiver requested for test/panics" {
		t.Fatalf("comments = %+v", c)
	}
	if n := len(h.repo.CheckRuns(pr.HeadSHA())); n != len(runs) {
		t.Fatalf("a button press created check runs (%d, was %d)", n, len(runs))
	}
}

func TestOtherAppsSuitesAreIgnored(t *testing.T) {
	h := newHarness(t, nil, func(d *handlers.Deps) { d.AppID = 999 })
	// A suite this server would run (a push with no PR, re-requested) if it were its own.
	sha := pushToMain(t, h)
	if _, err := h.handle(t, "check_suite", h.emu.CheckSuitePayload(h.repo, sha, "rerequested", "alice")); err != nil {
		t.Fatal(err)
	}
	if n := len(h.repo.CheckRuns(sha)); n != 0 {
		t.Fatalf("%d runs for another app's suite", n)
	}
}

func FuzzHandle(f *testing.F) {
	h := newHarness(f, nil, nil)
	pr := h.openPR(f, map[string]string{"dags/daily.py": "x = 1\n"})
	f.Add("pull_request", h.emu.PullRequestPayload(pr, "opened", "alice"))
	f.Add("check_suite", h.emu.CheckSuitePayload(h.repo, pr.HeadSHA(), "requested", "alice"))
	f.Add("merge_group", []byte(`{"action":"checks_requested","merge_group":{"head_sha":"nope"}}`))
	f.Add("check_run", []byte(`{"action":"rerequested","check_run":{"name":"test/noisy"}}`))
	f.Add("pull_request", []byte(`{"action":"opened","pull_request":null}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		eh, ok := h.handlers[event]
		if !ok {
			return
		}
		// Any payload may fail, but none may panic or leave a run open.
		_ = eh.Handle(context.Background(), event, "fuzz", payload)
		for _, r := range h.repo.CheckRuns(pr.HeadSHA()) {
			if r.Status != "completed" {
				t.Fatalf("run %s left %s", r.Name, r.Status)
			}
		}
	})
}
