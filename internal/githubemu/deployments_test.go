package githubemu

import (
	"context"
	"testing"

	"github.com/google/go-github/v74/github"
)

func TestDeploymentsAutoInactive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	deploy := func(env string, prod *bool) *github.Deployment {
		t.Helper()
		d := must[*github.Deployment](t)(f.gh.Repositories.CreateDeployment(ctx, "parcelflow", "data-platform", &github.DeploymentRequest{
			Ref: github.Ptr("main"), Environment: github.Ptr(env), RequiredContexts: &[]string{}, AutoMerge: github.Ptr(false),
			Payload: map[string]any{"release": "r1"}, ProductionEnvironment: prod,
		}))
		must[*github.DeploymentStatus](t)(f.gh.Repositories.CreateDeploymentStatus(ctx, "parcelflow", "data-platform", d.GetID(), &github.DeploymentStatusRequest{State: github.Ptr("success")}))
		return d
	}
	d1 := deploy("staging", nil)
	d2 := deploy("staging", nil)
	deploy("dev", nil)
	p1 := deploy("prod", github.Ptr(true))
	deploy("prod", github.Ptr(true))

	state := map[int64]string{}
	for _, d := range f.repo.Deployments() {
		state[d.ID] = d.State()
	}
	tests := []struct {
		name string
		id   int64
		want string
	}{
		{"older staging becomes inactive", d1.GetID(), "inactive"},
		{"newest staging stays", d2.GetID(), "success"},
		{"production deployments are left alone", p1.GetID(), "success"},
	}
	for _, tc := range tests {
		if state[tc.id] != tc.want {
			t.Errorf("%s: state = %s, want %s", tc.name, state[tc.id], tc.want)
		}
	}
	statuses := must[[]*github.DeploymentStatus](t)(f.gh.Repositories.ListDeploymentStatuses(ctx, "parcelflow", "data-platform", d1.GetID(), nil))
	if len(statuses) != 2 || statuses[0].GetState() != "inactive" {
		t.Errorf("d1 statuses newest first = %v", statuses)
	}
	list := must[[]*github.Deployment](t)(f.gh.Repositories.ListDeployments(ctx, "parcelflow", "data-platform", &github.DeploymentsListOptions{Environment: "staging"}))
	if len(list) != 2 || list[0].GetID() != d2.GetID() {
		t.Errorf("staging deployments = %d", len(list))
	}
	envs := must[*github.EnvResponse](t)(f.gh.Repositories.ListEnvironments(ctx, "parcelflow", "data-platform", nil))
	if envs.GetTotalCount() != 3 {
		t.Errorf("environments = %d", envs.GetTotalCount())
	}
	if got := string(f.repo.Deployments()[0].Payload); got != `{"release":"r1"}` {
		t.Errorf("payload = %s", got)
	}
}

func TestDeploymentRequiredContexts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha := f.repo.Branch("main")
	must[*github.CheckRun](t)(f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: "dbt", HeadSHA: sha, Conclusion: github.Ptr("failure")}))
	tests := []struct {
		name     string
		contexts *[]string
		want     int
	}{
		{"omitted checks every run", nil, 409},
		{"empty skips checks", &[]string{}, 201},
		{"named failing check", &[]string{"dbt"}, 409},
		{"named missing check", &[]string{"airflow"}, 409},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, _ := f.gh.Repositories.CreateDeployment(ctx, "parcelflow", "data-platform", &github.DeploymentRequest{Ref: github.Ptr(sha), RequiredContexts: tc.contexts})
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
