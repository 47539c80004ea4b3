package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunDrift plans the sample repo's merged Terraform in each environment
// through a plan command that hands back a recorded plan: dev's changes
// nothing (in sync), prod's would change resources (drift), and staging's
// cannot be made (an error, never "in sync").
func TestRunDrift(t *testing.T) {
	repo := copyDir(t, filepath.Join("..", "..", "testdata", "sample-repo"))
	cfgPath := filepath.Join(repo, ".conveyor.yml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	withPlan := strings.Replace(string(cfg), "    paths: [\"infra/**\"]\n", "    paths: [\"infra/**\"]\n    commands: {plan: 'cp \"plans/$CONVEYOR_ENV.json\" \"$CONVEYOR_PLAN_FILE\"'}\n", 1)
	if withPlan == string(cfg) {
		t.Fatal("the sample config changed shape: no infra paths line")
	}
	prodPlan, err := os.ReadFile(filepath.Join("..", "..", "testdata", "terraform", "plans", "prod.json"))
	if err != nil {
		t.Fatal(err)
	}
	const noop = `{"format_version":"1.2","terraform_version":"1.11.4","resource_changes":[{"address":"aws_s3_bucket.dags","mode":"managed","type":"aws_s3_bucket","name":"dags","change":{"actions":["no-op"],"before":{},"after":{}}}]}`
	writeFiles(t, repo, map[string]string{".conveyor.yml": withPlan, "plans/dev.json": noop, "plans/prod.json": string(prodPlan)})

	var out, errb bytes.Buffer
	code := runDrift(context.Background(), []string{"--repo", repo, "--format", "json"}, &out, &errb)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (prod drifted): %s\n%s", code, exitFailed, errb.String(), out.String())
	}
	var v struct {
		Environments []struct {
			Env     string `json:"env"`
			InSync  bool   `json:"in_sync"`
			Changes []struct {
				Address, Action string
			} `json:"changes"`
			Error string `json:"error"`
		} `json:"environments"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range v.Environments {
		switch {
		case e.Error != "":
			got[e.Env] = "error"
		case e.InSync:
			got[e.Env] = "in sync"
		default:
			got[e.Env] = "drifted"
			for _, c := range e.Changes {
				if c.Action == "no-op" || c.Action == "read" || c.Address == "" {
					t.Errorf("%s lists %+v as drift", e.Env, c)
				}
			}
		}
	}
	if want := map[string]string{"dev": "in sync", "staging": "error", "prod": "drifted"}; len(got) != 3 || got["dev"] != want["dev"] || got["staging"] != want["staging"] || got["prod"] != want["prod"] {
		t.Fatalf("drift = %v, want %v", got, want)
	}

	out.Reset()
	if code := runDrift(context.Background(), []string{"--repo", repo, "--env", "dev"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "dev      in sync") {
		t.Fatalf("dev alone: exit %d\n%s", code, out.String())
	}
	for _, args := range [][]string{{"--repo", repo, "--env", "qa"}, {"--repo", filepath.Join(repo, "dags")}, {"--repo", repo, "--format", "xml"}} {
		if code := runDrift(context.Background(), args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
