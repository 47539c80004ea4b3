package terraform

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/policy"
)

// TestSampleRepoIsClean runs the check on the sample repo as if every file
// were new: the realistic stack must pass every rule, and the change must
// still be flagged as infrastructure for DevOps.
func TestSampleRepoIsClean(t *testing.T) {
	head, err := checks.ReadDir("../../testdata/sample-repo")
	if err != nil {
		t.Fatal(err)
	}
	base := checks.MapTree{".conveyor.yml": head[".conveyor.yml"]}
	in := checks.NewInput(base, head)
	if in.ConfigErr != nil {
		t.Fatalf("sample config: %v", in.ConfigErr)
	}
	res, err := New().Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Details.(Details)
	for _, f := range d.Findings {
		t.Errorf("finding on the sample stack: %s %s:%d %s", f.Rule, f.Path, f.Line, f.Message)
	}
	if len(d.Stacks) != 1 || d.Stacks[0].Path != "infra/platform" || strings.Join(d.Stacks[0].Envs, ",") != "dev,staging,prod" {
		t.Fatalf("stacks = %+v", d.Stacks)
	}
	if d.Stacks[0].Resources < 25 {
		t.Errorf("the sample stack has only %d resources; it should be realistic", d.Stacks[0].Resources)
	}
	if res.Conclusion != checks.Success {
		t.Errorf("conclusion = %s", res.Conclusion)
	}
	if !hasSignal(res.Signals, policy.SignalInfrastructure) || !hasSignal(res.Signals, policy.SignalIAM) || !hasSignal(res.Signals, policy.SignalNetwork) {
		t.Errorf("signals = %+v", res.Signals)
	}
	if !strings.Contains(res.Summary, "no plan was supplied") && !strings.Contains(res.Summary, "No plan was available") {
		t.Errorf("summary does not say no plan was available:\n%s", res.Summary)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
}

func hasSignal(sigs []policy.Signal, k policy.SignalKind) bool {
	for _, s := range sigs {
		if s.Kind == k {
			return true
		}
	}
	return false
}
