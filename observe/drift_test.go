package observe

import (
	"testing"

	"github.com/parcelflow/conveyor/checks/terraform"
	"github.com/parcelflow/conveyor/checks/terraform/plan"
)

func TestDriftFrom(t *testing.T) {
	plans := map[string]*terraform.PlanDetails{
		"dev": {Changes: []terraform.PlanChange{{Address: "aws_s3_bucket.a", Action: plan.NoOp}, {Address: "data.aws_iam_policy.x", Action: plan.Read}}},
		"staging": {Changes: []terraform.PlanChange{
			{Address: "aws_security_group.b", Action: plan.Update},
			{Address: "aws_db_instance.a", Action: plan.Replace, Stateful: true},
			{Address: "aws_s3_bucket.c", Action: plan.NoOp},
		}},
		"prod": {Error: "the plan command exited with 1"},
		"qa":   {Incomplete: true},
	}
	got := DriftFrom(plans, []string{"dev", "staging", "prod", "qa", "sandbox"})
	if len(got) != 4 {
		t.Fatalf("%d environments, want 4 (sandbox had no plan): %+v", len(got), got)
	}
	tests := []struct {
		env      string
		inSync   bool
		changes  []string
		stateful int
		err      bool
	}{
		{"dev", true, nil, 0, false},
		{"staging", false, []string{"aws_db_instance.a", "aws_security_group.b"}, 1, false},
		{"prod", false, nil, 0, true},
		{"qa", false, nil, 0, false},
	}
	for i, tc := range tests {
		d := got[i]
		var addrs []string
		for _, c := range d.Changes {
			addrs = append(addrs, c.Address)
		}
		if d.Env != tc.env || d.InSync != tc.inSync || d.Stateful != tc.stateful || (d.Error != "") != tc.err || len(addrs) != len(tc.changes) {
			t.Errorf("%s: %+v, want in_sync=%v changes=%v stateful=%d error=%v", tc.env, d, tc.inSync, tc.changes, tc.stateful, tc.err)
			continue
		}
		for j := range addrs {
			if addrs[j] != tc.changes[j] {
				t.Errorf("%s: changes %v, want %v", tc.env, addrs, tc.changes)
			}
		}
	}
}
