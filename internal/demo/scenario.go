package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/internal/githubemu"
)

// Options configure the demo scenario.
type Options struct {
	// SampleRepo is the data repo committed to main before the story starts.
	SampleRepo string
	// Timeout bounds each wait for Conveyor to answer.
	Timeout time.Duration
}

// The people of the sample platform and the teams they are in.
var people = map[string][]string{
	"data-eng":          {"alice", "bob", "carol"},
	"data-eng-leads":    {"carol"},
	"devops":            {"dave", "erin"},
	"oncall":            {"bob", "dave"},
	"analytics":         {"frank"},
	"finance-analytics": {"gina"},
}

// AddPeople puts the sample platform's people in their teams, with write
// access to the seeded repo.
func (s *Stack) AddPeople() {
	for team, members := range people {
		s.Emu.AddTeam(Org, team, members...)
		for _, m := range members {
			s.Repo.SetPermission(m, "write")
		}
	}
}

// Run plays the scenario and prints the PRs' timelines to w. It is a
// readable script: each step is what a person on the team does, followed by
// what Conveyor shows on the PR.
func Run(ctx context.Context, w io.Writer, opts Options) error {
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	p := &Printer{W: w}
	fmt.Fprintln(w, "Conveyor demo — embedded defaults: GitHub emulator, SQLite, in-process S3 and DuckDB")

	s, err := Start(ctx, StackOptions{})
	if err != nil {
		return err
	}
	defer s.Close()
	base, err := s.SeedRepo(opts.SampleRepo)
	if err != nil {
		return err
	}
	s.AddPeople()

	p.Step(1, "The data platform repo is on GitHub with Conveyor installed")
	p.Say("%s/%s @ %.7s: DAGs, a dbt project, data contracts and Terraform, with .conveyor.yml", Org, RepoName, base)
	p.Say("Conveyor listens at %s/api/github/hook (signed webhooks → durable inbox → workers)", s.URL)

	p.Step(2, "alice opens a PR: an hourly shipments DAG, cleaner order statuses, a slimmer orders contract")
	pr1, err := s.openPR("alice", "feature/shipments-hourly", "Hourly shipments load; trim order statuses; drop item_count from the orders contract", changeShipments)
	if err != nil {
		return err
	}
	runs, err := s.WaitChecks(ctx, pr1.HeadSHA(), 6, opts.Timeout)
	if err != nil {
		return err
	}
	p.Say("PR #%d at %.7s — check runs:", pr1.Number, pr1.HeadSHA())
	p.CheckRuns(runs)
	p.Say("")
	p.Say("conveyor/dbt shows the blast radius of the stg_orders change:")
	p.SummarySection(runs, "conveyor/dbt", "mpact", 18)

	p.Step(3, "dave (DevOps) opens a PR that scales the prod MWAA environment: the DevOps gate")
	pr2, err := s.openPR("dave", "infra/mwaa-workers", "Scale prod MWAA to 25 workers", changeInfra)
	if err != nil {
		return err
	}
	runs, err = s.WaitChecks(ctx, pr2.HeadSHA(), 6, opts.Timeout)
	if err != nil {
		return err
	}
	p.Say("PR #%d at %.7s — check runs:", pr2.Number, pr2.HeadSHA())
	p.CheckRuns(runs)
	p.SummarySection(runs, "conveyor/policy", "|", 8)
	p.Say("")
	p.Say("alice (data-eng) approves — she is not in devops, so the gate stays closed:")
	decided, err := s.PolicyDecisions(ctx, pr2.Number)
	if err != nil {
		return err
	}
	pr2.Review("alice", "APPROVED", "LGTM")
	if err := s.WaitPolicyDecision(ctx, pr2.Number, decided, opts.Timeout); err != nil {
		return err
	}
	for _, r := range s.Repo.CheckRuns(pr2.HeadSHA()) {
		if r.Name == "conveyor/policy" {
			p.CheckRuns([]githubemu.CheckRun{r})
		}
	}
	p.Say("erin (devops) approves — the gate opens:")
	pr2.Review("erin", "APPROVED", "Capacity checked against the MSK quota.")
	policy, err := s.WaitCheck(ctx, pr2.HeadSHA(), "conveyor/policy", opts.Timeout, func(r githubemu.CheckRun) bool {
		return r.Status == "completed" && r.Conclusion == "success"
	})
	if err != nil {
		return err
	}
	p.CheckRuns([]githubemu.CheckRun{policy})

	p.Step(4, "ChatOps on alice's PR: a refused command and an accepted one")
	for _, c := range []struct{ user, body string }{
		{"alice", "/promote prod"},
		{"dave", "/lock prod investigating MWAA scheduler lag"},
		{"erin", "/freeze staging 2h load test of the new MSK brokers"},
	} {
		p.Say("%s comments %q", c.user, c.body)
		comment, replies, err := s.Command(ctx, pr1, c.user, c.body, opts.Timeout)
		if err != nil {
			return err
		}
		p.Comment(comment)
		for _, r := range replies {
			p.Comment(r)
		}
	}
	p.Say("the merge flow meets the same lock and freeze gates as /promote, so both are lifted before the next merge:")
	for _, c := range []struct{ user, body string }{
		{"dave", "/unlock prod"},
		{"erin", "/unfreeze staging"},
	} {
		comment, _, err := s.Command(ctx, pr1, c.user, c.body, opts.Timeout)
		if err != nil {
			return err
		}
		p.Comment(comment)
	}

	p.Step(5, "carol merges a low-risk DAG change: the release flows dev → staging → prod by itself")
	good, err := s.mergeChange(ctx, "carol", "tags/customer-metrics", "Tag customer metrics as tier-2", opts.Timeout, func(files map[string]string) map[string]string {
		return map[string]string{"dags/customer_metrics_taskflow.py": replace(files, "dags/customer_metrics_taskflow.py", `tags=["customers", "metrics"]`, `tags=["customers", "metrics", "tier-2"]`)}
	})
	if err != nil {
		return err
	}
	p.Deployments(s.Repo.Deployments())
	goodBucket, err := s.Bucket(ctx, "prod")
	if err != nil {
		return err
	}
	p.Say("prod's MWAA bucket now holds %d DAG files, exactly the release of %.7s", len(goodBucket), good.MergeCommitSHA())

	p.Step(6, "a bad release reaches prod; bob (on call) rolls it back")
	bad, err := s.mergeChange(ctx, "alice", "fix/customer-metrics", "Read customer metrics from the new events table", opts.Timeout, func(files map[string]string) map[string]string {
		return map[string]string{"dags/customer_metrics_taskflow.py": replace(files, "dags/customer_metrics_taskflow.py", `"tier-2"]`, `"tier-2", "events-v2"]`)}
	})
	if err != nil {
		return err
	}
	p.Say("prod runs %.7s; its tasks fail on the new table. bob comments \"/rollback prod tasks failing on events table\"", bad.MergeCommitSHA())
	comment, replies, err := s.Command(ctx, bad, "bob", "/rollback prod tasks failing on events table", opts.Timeout)
	if err != nil {
		return err
	}
	p.Comment(comment)
	for _, r := range replies {
		p.Comment(r)
	}
	after, err := s.Bucket(ctx, "prod")
	if err != nil {
		return err
	}
	p.Say("prod's bucket equals the good release byte for byte: %v", sameObjects(goodBucket, after))
	p.Say("GitHub deployments (the PR timeline and the repo's Environments):")
	p.Deployments(s.Repo.Deployments())
	return nil
}

// mergeChange opens a PR with change, has a data engineer approve it, merges
// it as merger and waits until prod reports a successful deployment of it.
func (s *Stack) mergeChange(ctx context.Context, merger, branch, title string, timeout time.Duration, change func(map[string]string) map[string]string) (*githubemu.PullRequest, error) {
	pr, err := s.openPR("alice", branch, title, change)
	if err != nil {
		return nil, err
	}
	if _, err := s.WaitChecks(ctx, pr.HeadSHA(), 6, timeout); err != nil {
		return nil, err
	}
	pr.Review("bob", "APPROVED", "")
	// Branch protection merges only once the required checks, the policy
	// check among them, are green at the head.
	if _, err := s.WaitCheck(ctx, pr.HeadSHA(), "conveyor/policy", timeout, func(r githubemu.CheckRun) bool {
		return r.Status == "completed" && r.Conclusion == "success"
	}); err != nil {
		return nil, err
	}
	sha := pr.Merge(merger)
	deadline := time.Now().Add(timeout)
	for {
		for _, d := range s.Repo.Deployments() {
			if d.Environment == "prod" && d.SHA == sha && d.State() == "success" {
				return pr, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("release of %.7s did not reach prod within %s", sha, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func sameObjects(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// openPR commits change on a new branch from main and opens a PR by author.
func (s *Stack) openPR(author, branch, title string, change func(files map[string]string) map[string]string) (*githubemu.PullRequest, error) {
	s.Repo.CreateBranch(branch, "main")
	edits := change(s.Repo.Files("main"))
	s.Repo.Commit(branch, edits, title, author)
	pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: branch, Base: "main", Title: title, Author: author})
	if pr == nil {
		return nil, fmt.Errorf("opening PR %q failed", title)
	}
	return pr, nil
}

// replace edits one file of the current tree, failing loudly when the sample
// repo no longer has the text the scenario expects.
func replace(files map[string]string, path, old, new string) string {
	content, ok := files[path]
	if !ok || !strings.Contains(content, old) {
		panic(fmt.Sprintf("demo: %s no longer contains %q; update the scenario", path, old))
	}
	return strings.Replace(content, old, new, 1)
}

const shipmentsDAG = `"""Hourly shipments from the carrier API into Snowflake."""
from datetime import datetime

from airflow import DAG
from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator

with DAG(
    dag_id="shipments_hourly",
    schedule="@hourly",
    start_date=datetime(2021, 1, 1),
    catchup=True,
    default_args={"owner": "data-eng", "retries": 2},
    tags=["shipments"],
) as dag:
    load = SnowflakeOperator(
        task_id="load_shipments",
        sql="COPY INTO RAW.SHIPMENTS FROM @RAW.CARRIER_STAGE FORCE = TRUE",
        pool="snowflake",
    )
`

func changeShipments(files map[string]string) map[string]string {
	return map[string]string{
		"dags/shipments_hourly.py": shipmentsDAG,
		"dbt/models/staging/orders_db/stg_orders.sql": replace(files, "dbt/models/staging/orders_db/stg_orders.sql",
			"lower(status)", "lower(trim(status))"),
		"contracts/orders.yaml": replace(files, "contracts/orders.yaml",
			"      - name: item_count\n        logicalType: integer\n        physicalType: integer\n", ""),
	}
}

func changeInfra(files map[string]string) map[string]string {
	return map[string]string{
		"infra/platform/env/prod.tfvars": replace(files, "infra/platform/env/prod.tfvars", "mwaa_max_workers         = 20", "mwaa_max_workers         = 25"),
	}
}
