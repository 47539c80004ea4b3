package timeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/timeline"
)

// sleeps records the waits the writer asked for instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type fixture struct {
	emu    *githubemu.Emulator
	repo   *githubemu.Repo
	pr     *githubemu.PullRequest
	sha    string
	w      *timeline.Writer
	sleeps *sleeps
	now    time.Time
}

const secret = "s3cr3t-T0KEN-value"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	emu := githubemu.New(githubemu.Options{})
	_, stop := emu.Start()
	t.Cleanup(stop)
	repo := emu.CreateRepo("parcelflow", "data-platform", "main")
	repo.Commit("main", map[string]string{"README.md": "hello\n"}, "initial", "alice")
	repo.CreateBranch("feature", "main")
	sha := repo.Commit("feature", map[string]string{"dags/daily.py": "import airflow\n"}, "add a dag", "alice")
	pr := repo.OpenPullRequest(githubemu.PROptions{Head: "feature", Title: "Add a DAG", Author: "alice"})
	f := &fixture{emu: emu, repo: repo, pr: pr, sha: sha, sleeps: &sleeps{}, now: time.Now()}
	f.w = timeline.New(emu.Client(), repo.Owner, repo.Name, timeline.NewRedactor(secret),
		timeline.WithRetry(timeline.Retry{Sleep: f.sleeps.sleep, Now: func() time.Time { return f.now }}))
	emu.ResetCalls()
	return f
}

func annotations(n int) []checks.Annotation {
	out := make([]checks.Annotation, n)
	for i := range out {
		out[i] = checks.Annotation{Path: "dags/daily.py", StartLine: i + 1, EndLine: i + 1, Level: checks.Warning, Rule: "AF001", Title: "finding", Message: fmt.Sprintf("finding %d", i)}
	}
	return out
}

// patchBodies decodes the check-run PATCH requests the emulator received.
func patchBodies(t *testing.T, emu *githubemu.Emulator, id int64) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range emu.CallsTo(http.MethodPatch, fmt.Sprintf("/repos/parcelflow/data-platform/check-runs/%d", id)) {
		var m map[string]any
		if err := json.Unmarshal(c.Body, &m); err != nil {
			t.Fatalf("decoding PATCH body: %v", err)
		}
		out = append(out, m)
	}
	return out
}

func annotationCount(body map[string]any) int {
	out, _ := body["output"].(map[string]any)
	anns, _ := out["annotations"].([]any)
	return len(anns)
}

func TestCheckRunLifecycleBatchesAnnotations(t *testing.T) {
	tests := []struct {
		name        string
		annotations int
		// wantBatches is the annotation count of each PATCH after "in progress".
		wantBatches []int
	}{
		{"none", 0, []int{0}},
		{"one", 1, []int{1}},
		{"exactly fifty", 50, []int{50}},
		{"fifty one", 51, []int{50, 1}},
		{"one hundred twenty", 120, []int{50, 50, 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			id, err := f.w.CreateCheckRun(ctx, f.sha, "conveyor/airflow", timeline.ExternalID("conveyor/airflow@d1"), timeline.DetailsURL("https://conveyor.example/runs/1"))
			if err != nil {
				t.Fatal(err)
			}
			run, _ := f.repo.CheckRun(id)
			if run.Status != "queued" || run.HeadSHA != f.sha || !strings.HasPrefix(run.ExternalID, "conveyor/airflow@d1#") || run.DetailsURL != "https://conveyor.example/runs/1" {
				t.Fatalf("created run = %+v, want queued at %s with external id and details url", run, f.sha)
			}
			if err := f.w.StartCheckRun(ctx, id); err != nil {
				t.Fatal(err)
			}
			if run, _ := f.repo.CheckRun(id); run.Status != "in_progress" {
				t.Fatalf("status after start = %q, want in_progress", run.Status)
			}
			res := checks.Result{Name: "conveyor/airflow", Conclusion: checks.Failure, Title: "findings", Summary: "some findings", Annotations: annotations(tt.annotations)}
			if err := f.w.CompleteCheckRun(ctx, id, res); err != nil {
				t.Fatal(err)
			}
			bodies := patchBodies(t, f.emu, id)[1:] // the first PATCH started the run
			if len(bodies) != len(tt.wantBatches) {
				t.Fatalf("%d completing requests, want %d", len(bodies), len(tt.wantBatches))
			}
			for i, b := range bodies {
				if got := annotationCount(b); got != tt.wantBatches[i] {
					t.Errorf("request %d carried %d annotations, want %d", i+1, got, tt.wantBatches[i])
				}
				last := i == len(bodies)-1
				if _, has := b["conclusion"]; has != last {
					t.Errorf("request %d carries conclusion = %v, want only the last", i+1, has)
				}
			}
			run, _ = f.repo.CheckRun(id)
			if run.Status != "completed" || run.Conclusion != "failure" || len(run.Output.Annotations) != tt.annotations {
				t.Fatalf("final run: status %q conclusion %q annotations %d; want completed failure %d", run.Status, run.Conclusion, len(run.Output.Annotations), tt.annotations)
			}
		})
	}
}

func TestCompleteCheckRunKeepsWithinGitHubLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, err := f.w.CreateCheckRun(ctx, f.sha, "conveyor/dbt")
	if err != nil {
		t.Fatal(err)
	}
	summary := strings.Repeat("é", 40000) // 80,000 bytes
	text := strings.Repeat("line of text\n", 6000)
	res := checks.Result{
		Name: "conveyor/dbt", Conclusion: checks.Success, Title: strings.Repeat("t", 400), Summary: summary, Text: text,
		Annotations: []checks.Annotation{
			{Path: "models/a.sql", StartLine: 0, EndLine: 0, StartColumn: 3, EndColumn: 1, Level: "bogus", Message: "no line given"},
			{Path: "models/b.sql", StartLine: 2, EndLine: 5, StartColumn: 1, EndColumn: 4, Level: checks.Notice, Message: "columns over many lines"},
		},
	}
	if err := f.w.CompleteCheckRun(ctx, id, res); err != nil {
		t.Fatalf("GitHub refused the result: %v", err)
	}
	run, _ := f.repo.CheckRun(id)
	for name, s := range map[string]string{"summary": run.Output.Summary, "text": run.Output.Text} {
		if len(s) > timeline.MaxOutputChars {
			t.Errorf("%s is %d bytes, over %d", name, len(s), timeline.MaxOutputChars)
		}
		if !strings.Contains(s, "characters left out") {
			t.Errorf("%s has no truncation note", name)
		}
	}
	kept := utf8.RuneCountInString(strings.SplitN(run.Output.Summary, "\n\n…", 2)[0])
	if want := fmt.Sprintf("… %d characters left out", 40000-kept); !strings.HasSuffix(run.Output.Summary, want) {
		t.Errorf("summary ends %q, want %q", run.Output.Summary[len(run.Output.Summary)-40:], want)
	}
	if n := utf8.RuneCountInString(run.Output.Title); n > timeline.MaxTitleChars {
		t.Errorf("title has %d characters, over %d", n, timeline.MaxTitleChars)
	}
	if a := run.Output.Annotations[0]; a.StartLine != 1 || a.Level != "warning" {
		t.Errorf("annotation without a line = %+v, want line 1 and level warning", a)
	}
	if a := run.Output.Annotations[1]; a.EndLine != 5 || a.StartColumn != nil {
		t.Errorf("multi-line annotation = %+v, want end line 5 and no columns", a)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		times     int
		headers   map[string]string
		wantErr   bool
		wantCalls int
		wantWaits []time.Duration
	}{
		{name: "502 then success", status: 502, times: 1, wantCalls: 2, wantWaits: []time.Duration{time.Second}},
		{name: "503 backs off doubling", status: 503, times: 2, wantCalls: 3, wantWaits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "500 with Retry-After", status: 500, times: 1, headers: map[string]string{"Retry-After": "5"}, wantCalls: 2, wantWaits: []time.Duration{5 * time.Second}},
		{name: "secondary rate limit honours Retry-After", status: 403, times: 1, headers: map[string]string{"Retry-After": "7"}, wantCalls: 2, wantWaits: []time.Duration{7 * time.Second}},
		{name: "429 with Retry-After", status: 429, times: 1, headers: map[string]string{"Retry-After": "3"}, wantCalls: 2, wantWaits: []time.Duration{3 * time.Second}},
		{name: "Retry-After is capped", status: 403, times: 1, headers: map[string]string{"Retry-After": "3600"}, wantCalls: 2, wantWaits: []time.Duration{time.Minute}},
		{name: "gives up after four attempts", status: 502, times: 10, wantErr: true, wantCalls: 4, wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{name: "422 is not retried", status: 422, times: 1, wantErr: true, wantCalls: 1},
		{name: "404 is not retried", status: 404, times: 1, wantErr: true, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.emu.FailNext(http.MethodPost, "/repos/parcelflow/data-platform/issues/1/comments", tt.status, tt.times, tt.headers)
			_, err := f.w.Comment(context.Background(), 1, "hello")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			calls := f.emu.CallsTo(http.MethodPost, "/repos/parcelflow/data-platform/issues/1/comments")
			if len(calls) != tt.wantCalls {
				t.Errorf("%d requests, want %d", len(calls), tt.wantCalls)
			}
			if got := f.sleeps.all(); fmt.Sprint(got) != fmt.Sprint(tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
			if wantComments := map[bool]int{true: 0, false: 1}[tt.wantErr]; len(f.pr.Comments()) != wantComments {
				t.Errorf("%d comments on the PR, want %d", len(f.pr.Comments()), wantComments)
			}
		})
	}
}

func TestRetriesPrimaryRateLimitUntilReset(t *testing.T) {
	f := newFixture(t)
	reset := f.now.Add(20 * time.Second)
	f.emu.FailNext(http.MethodPatch, "/repos/parcelflow/data-platform/check-runs/*", 403, 1, map[string]string{
		"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10),
	})
	ctx := context.Background()
	id, err := f.w.CreateCheckRun(ctx, f.sha, "conveyor/config")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.w.StartCheckRun(ctx, id); err != nil {
		t.Fatalf("start after a rate limit: %v", err)
	}
	waits := f.sleeps.all()
	if len(waits) != 1 || waits[0] < 19*time.Second || waits[0] > 22*time.Second {
		t.Fatalf("waits = %v, want one wait of about 21s (until the reset)", waits)
	}
	if run, _ := f.repo.CheckRun(id); run.Status != "in_progress" {
		t.Fatalf("status = %q, want in_progress", run.Status)
	}
}

func TestSecretsNeverReachGitHub(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, err := f.w.CreateCheckRun(ctx, f.sha, "conveyor/terraform")
	if err != nil {
		t.Fatal(err)
	}
	leak := "password=" + secret
	res := checks.Result{
		Name: "conveyor/terraform", Conclusion: checks.Failure, Title: "plan printed " + leak,
		Summary: "output: " + leak, Text: "```\n" + leak + "\n```",
		Annotations: []checks.Annotation{{Path: "infra/main.tf", StartLine: 3, EndLine: 3, Level: checks.Fail, Title: leak, Message: leak}},
	}
	if err := f.w.CompleteCheckRun(ctx, id, res, timeline.Action{Label: "Retry", Description: "run " + secret[:4], Identifier: "retry"}); err != nil {
		t.Fatal(err)
	}
	cid, err := f.w.Comment(ctx, f.pr.Number, "the token is "+secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.w.UpdateComment(ctx, cid, "still "+secret); err != nil {
		t.Fatal(err)
	}
	dep, err := f.w.CreateDeployment(ctx, timeline.DeploymentRequest{Ref: f.sha, Environment: "dev", Payload: map[string]string{"token": secret}, Description: secret})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.w.SetDeploymentStatus(ctx, dep, "failure", "https://logs.example/"+secret, "failed with "+secret, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.emu.Calls() {
		if strings.Contains(string(c.Body), secret) || strings.Contains(c.Query.Encode(), secret) {
			t.Errorf("%s %s carried the secret: %s", c.Method, c.Path, c.Body)
		}
	}
	run, _ := f.repo.CheckRun(id)
	if !strings.Contains(run.Output.Summary, "password="+timeline.Mask) {
		t.Errorf("summary %q does not show the mask", run.Output.Summary)
	}
	if c, _ := f.emu.Comment(cid); c.Body != "still "+timeline.Mask {
		t.Errorf("comment = %q, want the secret masked", c.Body)
	}
}

func TestCommentsSplitAndTruncate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("## Plan\n\n```hcl\n")
	for b.Len() < 150_000 {
		b.WriteString("resource \"aws_s3_bucket\" \"raw\" { bucket = \"raw-zone\" }\n")
	}
	b.WriteString("```\nend of plan\n")
	id, err := f.w.Comment(ctx, f.pr.Number, b.String())
	if err != nil {
		t.Fatal(err)
	}
	comments := f.pr.Comments()
	if len(comments) != 3 {
		t.Fatalf("%d comments, want 3 parts", len(comments))
	}
	if comments[0].ID != id {
		t.Errorf("returned id %d, want the first part %d", id, comments[0].ID)
	}
	for i, c := range comments {
		if utf8.RuneCountInString(c.Body) > timeline.MaxCommentChars {
			t.Errorf("part %d has %d characters", i+1, utf8.RuneCountInString(c.Body))
		}
		if want := fmt.Sprintf("**Part %d of 3**", i+1); !strings.HasPrefix(timeline.CommentText(c.Body), want) {
			t.Errorf("part %d starts %q, want %q", i+1, c.Body[:60], want)
		}
		if n := strings.Count(c.Body, "```"); n%2 != 0 {
			t.Errorf("part %d has %d fences: a code block is left open", i+1, n)
		}
	}
	if !strings.Contains(comments[1].Body, "```hcl\n") {
		t.Errorf("part 2 does not reopen the hcl code block")
	}
	if !strings.HasSuffix(comments[2].Body, "end of plan\n") {
		t.Errorf("last part lost the end of the body")
	}

	if err := f.w.UpdateComment(ctx, id, strings.Repeat("x", 70_000)); err != nil {
		t.Fatal(err)
	}
	c, _ := f.emu.Comment(id)
	if len(c.Body) > timeline.MaxCommentChars || !strings.Contains(c.Body, "characters left out") {
		t.Errorf("edited comment is %d bytes without a note; want truncated with a note", len(c.Body))
	}
}

func TestReactions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.pr.Comment("alice", "/deploy dev")
	for _, r := range []string{"eyes", "rocket"} {
		if err := f.w.React(ctx, c.ID, r); err != nil {
			t.Fatalf("react %s: %v", r, err)
		}
	}
	if err := f.w.React(ctx, c.ID, "party"); err == nil {
		t.Fatal("an unknown reaction was accepted")
	}
	got, _ := f.emu.Comment(c.ID)
	var contents []string
	for _, r := range got.Reactions {
		contents = append(contents, r.Content+" by "+r.User)
	}
	if want := "[eyes by conveyor[bot] rocket by conveyor[bot]]"; fmt.Sprint(contents) != want {
		t.Fatalf("reactions = %v, want %s", contents, want)
	}
}

func TestDeployments(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, err := f.w.CreateDeployment(ctx, timeline.DeploymentRequest{
		Ref: f.sha, Environment: "prod", ProductionEnvironment: true,
		Payload: map[string]any{"release": "r-123"}, Description: strings.Repeat("d", 300),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"queued", "in_progress", "success"} {
		if err := f.w.SetDeploymentStatus(ctx, id, st, "https://conveyor.example/deploy/1", "step "+st, "https://airflow.example"); err != nil {
			t.Fatalf("status %s: %v", st, err)
		}
	}
	if err := f.w.SetDeploymentStatus(ctx, id, "done", "", "", ""); err == nil {
		t.Fatal("an unknown deployment state was accepted")
	}
	deps := f.repo.Deployments()
	if len(deps) != 1 {
		t.Fatalf("%d deployments, want 1", len(deps))
	}
	d := deps[0]
	if d.SHA != f.sha || d.Environment != "prod" || !d.Production || d.State() != "success" || len(d.Statuses) != 3 {
		t.Fatalf("deployment = %+v, want prod at %s ending in success after 3 statuses", d, f.sha)
	}
	if utf8.RuneCountInString(d.Description) > timeline.MaxDeploymentDescription {
		t.Errorf("description has %d characters", utf8.RuneCountInString(d.Description))
	}
	var sent map[string]any
	if err := json.Unmarshal(f.emu.CallsTo(http.MethodPost, "/repos/parcelflow/data-platform/deployments")[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent["auto_merge"] != false || fmt.Sprint(sent["required_contexts"]) != "[]" {
		t.Errorf("request = %v, want auto_merge false and no required contexts", sent)
	}
	if !strings.Contains(string(d.Payload), `"release":"r-123"`) {
		t.Errorf("payload = %s", d.Payload)
	}
}

// TestCreatesSurviveALostAnswer covers GitHub creating a check run or comment
// and answering 502 anyway: the retry must adopt what was created, not add a
// second one (an orphan run would stay queued forever).
func TestCreatesSurviveALostAnswer(t *testing.T) {
	const runs = "/repos/parcelflow/data-platform/check-runs"
	lost := func(path string, n int) githubemu.Fault {
		return githubemu.Fault{Method: http.MethodPost, Path: path, Status: http.StatusBadGateway, Times: n, AfterHandling: true}
	}
	t.Run("check run", func(t *testing.T) {
		tests := []struct {
			name   string
			faults []githubemu.Fault
			posts  int
		}{
			{"created, answer lost", []githubemu.Fault{lost(runs, 1)}, 1},
			{"not created, then created", []githubemu.Fault{{Method: http.MethodPost, Path: runs, Status: http.StatusBadGateway, Times: 1}}, 2},
			{"created, answer lost, and the lookup fails once", []githubemu.Fault{lost(runs, 1),
				{Method: http.MethodGet, Path: "/repos/parcelflow/data-platform/commits/*/check-runs", Status: http.StatusServiceUnavailable, Times: 1}}, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t)
				ctx := context.Background()
				for _, fl := range tt.faults {
					f.emu.AddFault(fl)
				}
				id, err := f.w.CreateCheckRun(ctx, f.sha, "conveyor/config", timeline.ExternalID("conveyor/config@d1"))
				if err != nil {
					t.Fatal(err)
				}
				if err := f.w.CompleteCheckRun(ctx, id, checks.Result{Name: "conveyor/config", Conclusion: checks.Success, Summary: "ok"}); err != nil {
					t.Fatal(err)
				}
				all := f.repo.CheckRuns(f.sha)
				if len(all) != 1 || all[0].ID != id || all[0].Status != "completed" {
					t.Fatalf("runs = %+v, want the one run %d, completed", all, id)
				}
				if n := len(f.emu.CallsTo(http.MethodPost, runs)); n != tt.posts {
					t.Errorf("%d creation requests, want %d", n, tt.posts)
				}
			})
		}
	})
	t.Run("a second run of the same check is its own", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		first, err := f.w.CreateCheckRun(ctx, f.sha, "conveyor/config", timeline.ExternalID("conveyor/config@d1"))
		if err != nil {
			t.Fatal(err)
		}
		f.emu.AddFault(lost(runs, 1))
		second, err := f.w.CreateCheckRun(ctx, f.sha, "conveyor/config", timeline.ExternalID("conveyor/config@d1"))
		if err != nil {
			t.Fatal(err)
		}
		if first == second || len(f.repo.CheckRuns(f.sha)) != 2 {
			t.Fatalf("runs %d and %d, %d on the commit: a re-run with the same caller id must not adopt the earlier run",
				first, second, len(f.repo.CheckRuns(f.sha)))
		}
	})
	t.Run("comment", func(t *testing.T) {
		f := newFixture(t)
		comments := fmt.Sprintf("/repos/parcelflow/data-platform/issues/%d/comments", f.pr.Number)
		f.emu.AddFault(lost(comments, 1))
		id, err := f.w.Comment(context.Background(), f.pr.Number, "Deployed to dev.")
		if err != nil {
			t.Fatal(err)
		}
		cs := f.pr.Comments()
		if len(cs) != 1 || cs[0].ID != id || timeline.CommentText(cs[0].Body) != "Deployed to dev." {
			t.Fatalf("comments = %+v, want one, %d, reading %q", cs, id, "Deployed to dev.")
		}
		if n := len(f.emu.CallsTo(http.MethodPost, comments)); n != 1 {
			t.Errorf("%d posts, want 1", n)
		}
	})
	t.Run("the first part of a split comment", func(t *testing.T) {
		f := newFixture(t)
		comments := fmt.Sprintf("/repos/parcelflow/data-platform/issues/%d/comments", f.pr.Number)
		f.emu.AddFault(lost(comments, 1))
		var body strings.Builder
		for body.Len() < 100_000 {
			body.WriteString("a line of a long plan\n")
		}
		id, err := f.w.Comment(context.Background(), f.pr.Number, body.String())
		if err != nil {
			t.Fatal(err)
		}
		cs := f.pr.Comments()
		if len(cs) != 2 || cs[0].ID != id {
			t.Fatalf("%d comments, first %d; want two parts, the first %d", len(cs), cs[0].ID, id)
		}
		for i, c := range cs {
			if want := fmt.Sprintf("**Part %d of 2**", i+1); !strings.HasPrefix(timeline.CommentText(c.Body), want) {
				t.Errorf("comment %d starts %q, want %q", i+1, c.Body[:60], want)
			}
		}
	})
}

func TestCommentText(t *testing.T) {
	tests := []struct{ body, want string }{
		{"<!-- conveyor:0123456789abcdef -->\nhello", "hello"},
		{"hello", "hello"},
		{"<!-- a person's note -->\nhello", "<!-- a person's note -->\nhello"},
		{"<!-- conveyor:0123456789abcdef -->", "<!-- conveyor:0123456789abcdef -->"},
	}
	for _, tt := range tests {
		if got := timeline.CommentText(tt.body); got != tt.want {
			t.Errorf("CommentText(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
