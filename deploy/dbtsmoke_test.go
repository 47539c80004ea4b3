package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/release"
)

// TestDbtTestsAreSmokeTests deploys a release whose dbt project declares
// generic tests: they run against the environment's warehouse after the
// apply, a failing one fails the deployment (and rolls it back), and a
// model the environment has no table for is skipped, saying so.
func TestDbtTestsAreSmokeTests(t *testing.T) {
	const project = "name: shop\nversion: '1.0'\nprofile: shop\nmodel-paths: [models]\nmodels:\n  shop:\n    +schema: marts\n"
	const props = `version: 2
models:
  - name: orders
    columns:
      - name: id
        data_tests: [not_null, unique]
      - name: amount
        data_tests: [not_null]
  - name: customers
    columns:
      - name: id
        data_tests: [unique]
`
	tests := []struct {
		name      string
		orders    string
		wantState string
		want      []string // substrings of the smoke results
	}{
		{"every test passes", `SELECT * FROM (VALUES (1, 10), (2, 20)) t(id, amount)`, StateSucceeded,
			[]string{"dbt unique on model.shop.orders.id: pass", "dbt not_null on model.shop.orders.amount: pass", "dbt model.shop.customers: skipped (marts.customers is not in prod yet)"}},
		{"a duplicate key fails the deploy", `SELECT * FROM (VALUES (1, 10), (1, 20)) t(id, amount)`, StateRolledBack,
			[]string{"dbt unique on model.shop.orders.id: fail (1 failing rows)", "dbt not_null on model.shop.orders.id: pass"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, 1)
			e := h.engine("a", time.Minute)
			first := h.build(e, version{gen: 1}, "low", 1)
			if d, err := e.Deploy(ctx, Request{ReleaseID: first.ID, Env: "prod", Actor: "carol"}); err != nil || d.State != StateSucceeded {
				t.Fatalf("first deploy: %v %+v", err, d)
			}
			files := h.tree(version{gen: 1, orders: tc.orders})
			files["dbt/dbt_project.yml"] = project
			files["dbt/models/schema.yml"] = props
			files["dbt/models/customers.sql"] = "select 1 as id\n"
			rel := h.release(e, files, "tests", 2)
			d, _ := e.Deploy(ctx, Request{ReleaseID: rel.ID, Env: "prod", Actor: "carol"})
			if d == nil || d.State != tc.wantState {
				t.Fatalf("deployment = %+v, want %s", d, tc.wantState)
			}
			all := smokeLines(d)
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("smoke results lack %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestContractsAreSmokeTests deploys a data contract with the release: after
// the apply, its datasets are compared with their tables and its quality
// rules measured; a broken rule fails the deployment (and rolls it back),
// and a dataset the environment has no table for is skipped.
func TestContractsAreSmokeTests(t *testing.T) {
	const contract = `apiVersion: v3.0.0
kind: DataContract
id: urn:datacontract:test:orders
name: orders
version: 1.0.0
status: active
team: {name: data-eng}
schema:
  - name: orders
    physicalName: marts.orders
    properties:
      - name: id
        logicalType: integer
        required: true
        unique: true
      - name: amount
        logicalType: integer
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
  - name: refunds
    physicalName: marts.refunds
    properties:
      - name: id
        logicalType: integer
`
	tests := []struct {
		name      string
		orders    string
		wantState string
		want      []string
	}{
		{"the contract holds", `SELECT * FROM (VALUES (1, 10), (2, 20)) t(id, amount)`, StateSucceeded,
			[]string{"contract orders: unique id: pass", "contract orders: rowCount: pass", "contract refunds: skipped (marts.refunds is not in prod yet)"}},
		{"a duplicate id fails the deploy", `SELECT * FROM (VALUES (1, 10), (1, 20)) t(id, amount)`, StateRolledBack,
			[]string{"contract orders: unique id: fail (measured 1, but it must be 0)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, 1)
			yml := strings.Replace(testRepoConfig, "environments:", "  - name: contracts\n    kind: contracts\n    owner: data-eng\n    paths: [\"contracts/**\"]\nenvironments:", 1)
			var err error
			if h.cfg, err = config.ParseRepo(".conveyor.yml", []byte(yml)); err != nil {
				t.Fatal(err)
			}
			e := h.engine("a", time.Minute)
			first := h.build(e, version{gen: 1}, "low", 1)
			if d, err := e.Deploy(ctx, Request{ReleaseID: first.ID, Env: "prod", Actor: "carol"}); err != nil || d.State != StateSucceeded {
				t.Fatalf("first deploy: %v %+v", err, d)
			}
			files := h.tree(version{gen: 2, orders: tc.orders})
			files["contracts/orders.yaml"] = contract
			rel := h.release(e, files, "contract", 1)
			d, _ := e.Deploy(ctx, Request{ReleaseID: rel.ID, Env: "prod", Actor: "carol"})
			if d == nil || d.State != tc.wantState {
				t.Fatalf("deployment = %+v, want %s", d, tc.wantState)
			}
			all := smokeLines(d)
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("smoke results lack %q:\n%s", w, all)
				}
			}
		})
	}
}

// release builds, publishes and registers the release of files, committed
// to main as msg.
func (h *harness) release(e *Engine, files map[string]string, msg string, pr int) *release.Release {
	h.t.Helper()
	tree := mapTree{}
	for k, c := range files {
		tree[k] = []byte(c)
	}
	rel, err := release.Build(tree, h.cfg, release.Meta{SHA: h.repo.Commit("main", files, msg, "alice"), PR: pr, Risk: "low"}, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := release.Publish(context.Background(), h.arts, rel, tree); err != nil {
		h.t.Fatal(err)
	}
	if err := e.Register(context.Background(), rel); err != nil {
		h.t.Fatal(err)
	}
	return rel
}

// smokeLines lists d's smoke results as "name: pass|fail|skipped (output)".
func smokeLines(d *Deployment) string {
	var out []string
	for _, s := range d.Details.Smoke {
		state := "pass"
		switch {
		case s.Skipped:
			state = "skipped"
		case !s.Passed:
			state = "fail"
		}
		line := s.Name + ": " + state
		if s.Output != "" {
			line += " (" + s.Output + ")"
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
