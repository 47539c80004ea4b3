package githubemu

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v74/github"
)

func annotations(n int) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, n)
	for i := range out {
		out[i] = &github.CheckRunAnnotation{
			Path: github.Ptr("dags/daily.py"), StartLine: github.Ptr(i + 1), EndLine: github.Ptr(i + 1),
			AnnotationLevel: github.Ptr("failure"), Message: github.Ptr("bad"),
		}
	}
	return out
}

func TestCheckRunLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha := f.repo.Branch("main")
	cr := must[*github.CheckRun](t)(f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{
		Name: "conveyor/airflow", HeadSHA: sha, Status: github.Ptr("in_progress"),
	}))
	if cr.GetStatus() != "in_progress" || cr.StartedAt == nil || cr.GetCheckSuite().GetID() == 0 {
		t.Fatalf("created run = %+v", cr)
	}
	for i, n := range []int{50, 20} {
		upd := github.UpdateCheckRunOptions{
			Name:   "conveyor/airflow",
			Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr("s"), Annotations: annotations(n)},
		}
		if i == 1 {
			upd.Conclusion = github.Ptr("failure")
			upd.Actions = []*github.CheckRunAction{{Label: "Retry", Description: "Run again", Identifier: "retry"}}
		}
		must[*github.CheckRun](t)(f.gh.Checks.UpdateCheckRun(ctx, "parcelflow", "data-platform", cr.GetID(), upd))
	}
	runs := f.repo.CheckRuns(sha)
	if len(runs) != 1 {
		t.Fatalf("runs = %d", len(runs))
	}
	got := runs[0]
	if got.Status != "completed" || got.Conclusion != "failure" || len(got.Output.Annotations) != 70 || got.Updates != 2 || got.CompletedAt.IsZero() || len(got.Actions) != 1 {
		t.Errorf("run = status %s conclusion %s annotations %d updates %d actions %d", got.Status, got.Conclusion, len(got.Output.Annotations), got.Updates, len(got.Actions))
	}
	var all []*github.CheckRunAnnotation
	opt := &github.ListOptions{PerPage: 50}
	for {
		page, resp, err := f.gh.Checks.ListCheckRunAnnotations(ctx, "parcelflow", "data-platform", cr.GetID(), opt)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if len(all) != 70 {
		t.Errorf("listed annotations = %d", len(all))
	}

	list := must[*github.ListCheckRunsResults](t)(f.gh.Checks.ListCheckRunsForRef(ctx, "parcelflow", "data-platform", "main", nil))
	if list.GetTotal() != 1 || list.CheckRuns[0].GetConclusion() != "failure" || list.CheckRuns[0].GetOutput().GetAnnotationsCount() != 70 {
		t.Errorf("list for ref = %d runs", list.GetTotal())
	}
	suites := must[*github.ListCheckSuiteResults](t)(f.gh.Checks.ListCheckSuitesForRef(ctx, "parcelflow", "data-platform", sha, nil))
	if suites.GetTotal() != 1 || suites.CheckSuites[0].GetConclusion() != "failure" || suites.CheckSuites[0].GetHeadBranch() != "main" {
		t.Errorf("suites = %+v", suites)
	}
	suite := must[*github.CheckSuite](t)(f.gh.Checks.GetCheckSuite(ctx, "parcelflow", "data-platform", cr.GetCheckSuite().GetID()))
	if suite.GetStatus() != "completed" {
		t.Errorf("suite status = %s", suite.GetStatus())
	}
}

func TestCheckRunValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha := f.repo.Branch("main")
	long := strings.Repeat("x", 65536)
	tests := []struct {
		name string
		opt  github.CreateCheckRunOptions
		want int
	}{
		{"ok at limits", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr(long[:65535]), Annotations: annotations(50)}}, 201},
		{"51 annotations", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr("s"), Annotations: annotations(51)}}, 422},
		{"summary too long", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr(long)}}, 422},
		{"text too long", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr("s"), Text: github.Ptr(long)}}, 422},
		{"missing title", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Output: &github.CheckRunOutput{Summary: github.Ptr("s")}}, 422},
		{"completed without conclusion", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Status: github.Ptr("completed")}, 422},
		{"bad conclusion", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Conclusion: github.Ptr("great")}, 422},
		{"unknown sha", github.CreateCheckRunOptions{Name: "a", HeadSHA: strings.Repeat("0", 40)}, 422},
		{"four actions", github.CreateCheckRunOptions{Name: "a", HeadSHA: sha, Actions: make([]*github.CheckRunAction, 4)}, 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opt.Actions != nil {
				for i := range tc.opt.Actions {
					tc.opt.Actions[i] = &github.CheckRunAction{Label: "l", Description: "d", Identifier: "i"}
				}
			}
			_, resp, err := f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", tc.opt)
			if resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("status = %v, err %v, want %d", resp, err, tc.want)
			}
			var er *github.ErrorResponse
			if tc.want == 422 && !errors.As(err, &er) {
				t.Errorf("err = %T, want *github.ErrorResponse", err)
			}
		})
	}
	// A rejected update leaves the run as it was.
	cr := must[*github.CheckRun](t)(f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: "b", HeadSHA: sha}))
	_, resp, _ := f.gh.Checks.UpdateCheckRun(ctx, "parcelflow", "data-platform", cr.GetID(), github.UpdateCheckRunOptions{
		Name: "b", Output: &github.CheckRunOutput{Title: github.Ptr("t"), Summary: github.Ptr("s"), Annotations: annotations(51)},
	})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("update with 51 annotations = %d", resp.StatusCode)
	}
	if got, _ := f.repo.CheckRun(cr.GetID()); len(got.Output.Annotations) != 0 || got.Updates != 0 {
		t.Errorf("rejected update changed the run: %+v", got)
	}
}

func TestCheckRunsFilterLatest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha := f.repo.Branch("main")
	for _, name := range []string{"dbt", "dbt", "airflow"} {
		must[*github.CheckRun](t)(f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: name, HeadSHA: sha}))
	}
	tests := []struct {
		opt  *github.ListCheckRunsOptions
		want int
	}{
		{nil, 2},
		{&github.ListCheckRunsOptions{Filter: github.Ptr("all")}, 3},
		{&github.ListCheckRunsOptions{CheckName: github.Ptr("dbt"), Filter: github.Ptr("all")}, 2},
	}
	for _, tc := range tests {
		res := must[*github.ListCheckRunsResults](t)(f.gh.Checks.ListCheckRunsForRef(ctx, "parcelflow", "data-platform", sha, tc.opt))
		if res.GetTotal() != tc.want {
			t.Errorf("opt %+v: total = %d, want %d", tc.opt, res.GetTotal(), tc.want)
		}
	}
}
