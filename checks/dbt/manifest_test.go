package dbt

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/dbt/project"
)

const (
	shopDir      = "../../testdata/dbt/shop"
	shopManifest = "target/manifest.json"
	shopMarts    = "models/marts/marts.yml"
)

func shopTree(t *testing.T) checks.MapTree {
	t.Helper()
	tr, err := checks.ReadDir(shopDir)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// withoutManifest is tree minus its committed manifest, so the check parses.
func withoutManifest(tree checks.MapTree) checks.MapTree {
	return edit(tree, map[string]string{shopManifest: "\x00"})
}

// editManifest rewrites the manifest's JSON the way a fresh `dbt parse`
// would after the same edit of the files.
func editManifest(t *testing.T, tree checks.MapTree, change func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(tree[shopManifest], &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func node(doc map[string]any, id string) map[string]any {
	return doc["nodes"].(map[string]any)[id].(map[string]any)
}

// TestManifestDiffsLikeParse: the shop fixture's hand-made manifest and its
// parsed files are the same project, so diffing one against the other finds
// nothing, in either direction.
func TestManifestDiffsLikeParse(t *testing.T) {
	tr := shopTree(t)
	parsed, err := project.Parse(tr, "")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := project.ReadManifest("", tr[shopManifest])
	if err != nil {
		t.Fatal(err)
	}
	for name, imp := range map[string]Impact{"manifest→parsed": Diff(mf, parsed), "parsed→manifest": Diff(parsed, mf)} {
		if len(imp.Changes) != 0 || len(imp.Modified) != 0 || len(imp.Sources) != 0 || len(imp.Downstream) != 0 {
			t.Errorf("%s: changes %+v, sources %v, downstream %v", name, imp.Changes, imp.Sources, imp.Downstream)
		}
	}
	if stale := staleFiles(tr, mf, parsed); len(stale) != 0 {
		t.Errorf("the fixture's manifest reads as stale: %v", stale)
	}
}

// TestManifestAndParseGiveSameFindings runs the check on edits of the shop
// project twice, once with the committed manifest in the tree and once
// without, and expects the same impact, findings (lines included),
// approvals and conclusion. Where the head's manifest was regenerated with
// the edit, the head is read from it; where it was not, it is stale and the
// head is parsed.
func TestManifestAndParseGiveSameFindings(t *testing.T) {
	tr := shopTree(t)
	dropEmail := replace(t, tr, shopMarts, "      - name: email\n        data_type: varchar\n", "")
	tests := []struct {
		name       string
		head       map[string]string
		manifest   func(doc map[string]any) // the regenerated manifest, nil when it was not
		headOrigin string
		rule       string // a rule the edit must raise, "" for none
	}{
		{"no change", nil, nil, "manifest", ""},
		{"staging body", map[string]string{"models/staging/stg_orders.sql": replace(t, tr, "models/staging/stg_orders.sql", "status, amount", "upper(status) as status, amount")},
			nil, "files", ""},
		{"incremental unique_key", map[string]string{"models/marts/daily.sql": replace(t, tr, "models/marts/daily.sql", "unique_key='day'", "unique_key=['day', 'amount']")},
			nil, "files", RuleFullRefresh},
		{"contracted column dropped, manifest not rebuilt", map[string]string{shopMarts: dropEmail}, nil, "files", RuleColumnRemoved},
		{"contracted column dropped, manifest rebuilt", map[string]string{shopMarts: dropEmail}, func(doc map[string]any) {
			delete(node(doc, "model.shop.customers")["columns"].(map[string]any), "email")
		}, "manifest", RuleColumnRemoved},
		{"data_type changed, manifest rebuilt", map[string]string{shopMarts: replace(t, tr, shopMarts, "      - name: amount\n        data_type: number(18,2)", "      - name: amount\n        data_type: float")},
			func(doc map[string]any) {
				for _, id := range []string{"model.shop.orders.v1", "model.shop.orders.v2"} {
					node(doc, id)["columns"].(map[string]any)["amount"].(map[string]any)["data_type"] = "float"
				}
			}, "manifest", RuleTypeChanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := edit(tr, tc.head)
			if tc.manifest != nil {
				head[shopManifest] = []byte(editManifest(t, tr, tc.manifest))
			}
			withRes, withD := run(t, tr, head)
			plainRes, plainD := run(t, withoutManifest(tr), withoutManifest(head))
			if p := withD.Projects[0]; p.BaseOrigin != "manifest" || p.HeadOrigin != tc.headOrigin {
				t.Fatalf("read base from %s, head from %s; want manifest, %s\n%s", p.BaseOrigin, p.HeadOrigin, tc.headOrigin, withRes.Summary)
			}
			if p := plainD.Projects[0]; p.BaseOrigin != "files" || p.HeadOrigin != "files" {
				t.Fatalf("without a manifest: base %s, head %s", p.BaseOrigin, p.HeadOrigin)
			}
			if !reflect.DeepEqual(withD.Impact, plainD.Impact) {
				t.Errorf("impact with manifest %+v\nwithout %+v", withD.Impact, plainD.Impact)
			}
			if !reflect.DeepEqual(withD.Findings, plainD.Findings) {
				t.Errorf("findings with manifest %+v\nwithout %+v", withD.Findings, plainD.Findings)
			}
			if !reflect.DeepEqual(withRes.Approvals, plainRes.Approvals) || withRes.Conclusion != plainRes.Conclusion {
				t.Errorf("with manifest %s %+v\nwithout %s %+v", withRes.Conclusion, withRes.Approvals, plainRes.Conclusion, plainRes.Approvals)
			}
			var rules []string
			for _, f := range withD.Findings {
				rules = append(rules, f.Rule)
			}
			if tc.rule == "" && len(rules) > 0 || tc.rule != "" && !strings.Contains(strings.Join(rules, " "), tc.rule) {
				t.Errorf("rules = %v, want %q", rules, tc.rule)
			}
		})
	}
}

// TestStaleManifest: a committed manifest that no longer matches the files
// is not read; each kind of edit is caught and the file named.
func TestStaleManifest(t *testing.T) {
	tr := shopTree(t)
	tests := []struct {
		name  string
		head  map[string]string
		stale []string
	}{
		{"unchanged", nil, nil},
		{"model SQL", map[string]string{"models/marts/customers.sql": "select id, lower(email) as email from {{ ref('stg_customers') }}"}, []string{"models/marts/customers.sql"}},
		{"contracted column dropped in YAML", map[string]string{shopMarts: replace(t, tr, shopMarts, "      - name: email\n        data_type: varchar\n", "")}, []string{shopMarts}},
		{"constraint dropped in YAML", map[string]string{shopMarts: replace(t, tr, shopMarts, "        data_type: integer\n        constraints:\n          - type: not_null\n        data_tests: [unique]\n", "        data_type: integer\n        data_tests: [unique]\n")}, []string{shopMarts}},
		{"contract turned off in YAML", map[string]string{shopMarts: replace(t, tr, shopMarts, "  - name: customers\n    config:\n      contract: {enforced: true}\n", "  - name: customers\n    config:\n      contract: {enforced: false}\n")}, []string{shopMarts}},
		{"test added in YAML", map[string]string{"models/staging/staging.yml": replace(t, tr, "models/staging/staging.yml", "values: [open, paid]", "values: [open, paid, void]")}, []string{"models/staging/staging.yml"}},
		{"YAML describes a model the manifest has no patch for", map[string]string{"models/marts/daily.yml": "version: 2\nmodels:\n  - name: daily\n    columns:\n      - name: day\n        data_type: date\n"}, []string{"models/marts/daily.yml"}},
		{"folder config in dbt_project.yml", map[string]string{"dbt_project.yml": replace(t, tr, "dbt_project.yml", "      +materialized: view\n", "      +materialized: table\n")}, []string{"dbt_project.yml", "models/staging/staging.yml"}},
		{"new model", map[string]string{"models/marts/refunds.sql": "select 1 as id"}, []string{"models/marts/refunds.sql"}},
		{"model deleted", map[string]string{"models/staging/stg_customers.sql": "\x00", "models/marts/customers.sql": "select 1 as id, 'x' as email"}, []string{"models/marts/customers.sql", "models/staging/stg_customers.sql"}},
		{"source changed", map[string]string{"models/staging/sources.yml": replace(t, tr, "models/staging/sources.yml", "schema: raw_shop", "schema: raw_shop_v2")}, []string{"models/staging/sources.yml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := edit(tr, tc.head)
			parsed, err := project.Parse(head, "")
			if err != nil {
				t.Fatal(err)
			}
			mf, err := project.ReadManifest("", head[shopManifest])
			if err != nil {
				t.Fatal(err)
			}
			stale := staleFiles(head, mf, parsed)
			if !reflect.DeepEqual(stale, tc.stale) {
				t.Fatalf("stale = %v, want %v", stale, tc.stale)
			}
			res, d := run(t, tr, head)
			want := "manifest"
			if len(tc.stale) > 0 {
				want = "files"
				if !strings.Contains(res.Summary, "`target/manifest.json` is stale") || !strings.Contains(res.Summary, "`"+tc.stale[0]+"`") {
					t.Errorf("summary does not say the manifest is stale because of %s:\n%s", tc.stale[0], res.Summary)
				}
			}
			if d.Projects[0].HeadOrigin != want {
				t.Errorf("head read from %s, want %s", d.Projects[0].HeadOrigin, want)
			}
		})
	}
}

// TestStaleManifestHidesNoBreakingChange: the audit's case. Dropping a
// contracted column in YAML, with the old manifest still committed, fails
// the check on the YAML line as it does without a manifest.
func TestStaleManifestHidesNoBreakingChange(t *testing.T) {
	tr := shopTree(t)
	head := edit(tr, map[string]string{shopMarts: replace(t, tr, shopMarts, "      - name: email\n        data_type: varchar\n", "")})
	res, d := run(t, tr, head)
	if res.Conclusion != checks.ActionRequired {
		t.Errorf("conclusion = %s, want action_required\n%s", res.Conclusion, res.Summary)
	}
	var got []Finding
	for _, f := range d.Findings {
		if f.Rule == RuleColumnRemoved {
			got = append(got, f)
		}
	}
	if len(got) != 1 || got[0].Path != shopMarts || got[0].Line != 3 || !strings.Contains(got[0].Message, "customers: column email was removed") {
		t.Fatalf("findings = %+v, want one %s at %s:3 (where customers is described)", d.Findings, RuleColumnRemoved, shopMarts)
	}
}
