package observe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/warehouse"
)

const contractHead = `apiVersion: v3.1.0
kind: DataContract
id: urn:c
name: c
version: 1.0.0
status: active
`

const twoTables = `schema:
  - name: orders
    physicalName: marts.orders
    properties:
      - name: order_id
        logicalType: string
      - name: ordered_at
        logicalType: timestamp
      - name: _etl_loaded_at
        logicalType: timestamp
  - name: customers
    properties:
      - name: customer_id
        logicalType: string
      - name: loaded_at
        logicalType: timestamp
`

func TestFreshnessTargets(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "testdata", "sample-repo", "contracts", "orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		contract string
		// want: object relation.column SLA, or object !problem-fragment
		want []string
	}{
		{"the sample contract: a freshness SLA on a column, a latency SLA on none", string(sample), []string{
			"fct_orders marts.fct_orders.ordered_at 2h0m0s",
			"fct_daily_revenue !no column to measure",
		}},
		{"an element names object and column", twoTables + "slaProperties:\n  - {property: freshness, value: 30, unit: m, element: orders.ordered_at}\n",
			[]string{"orders marts.orders.ordered_at 30m0s"}},
		{"slaDefaultElement stands in for a missing element", twoTables + "slaDefaultElement: customers.loaded_at\nslaProperties:\n  - {property: latency, value: 1, unit: d}\n",
			[]string{"customers customers.loaded_at 24h0m0s"}},
		{"an element naming only the object takes its load-time column", twoTables + "slaProperties:\n  - {property: freshness, value: 4, unit: h, element: marts.orders}\n",
			[]string{"orders marts.orders._etl_loaded_at 4h0m0s"}},
		{"an element naming only a column applies to the objects that have it", twoTables + "slaProperties:\n  - {property: freshness, value: 4, unit: h, element: loaded_at}\n",
			[]string{"customers customers.loaded_at 4h0m0s"}},
		{"no element covers every object", twoTables + "slaProperties:\n  - {property: Latency, value: 2, unit: hours}\n",
			[]string{"orders marts.orders._etl_loaded_at 2h0m0s", "customers customers.loaded_at 2h0m0s"}},
		{"several elements", twoTables + "slaProperties:\n  - {property: freshness, value: 1, unit: h, element: 'orders.ordered_at, customers.loaded_at'}\n",
			[]string{"orders marts.orders.ordered_at 1h0m0s", "customers customers.loaded_at 1h0m0s"}},
		{"an SLA naming the object wins over a stricter general one", twoTables + "slaProperties:\n  - {property: latency, value: 10, unit: m}\n  - {property: freshness, value: 6, unit: h, element: orders.ordered_at}\n",
			[]string{"orders marts.orders.ordered_at 6h0m0s", "customers customers.loaded_at 10m0s"}},
		{"the strictest of general SLAs", twoTables + "slaProperties:\n  - {property: latency, value: 3, unit: h}\n  - {property: freshness, value: 90, unit: m}\n",
			[]string{"orders marts.orders._etl_loaded_at 1h30m0s", "customers customers.loaded_at 1h30m0s"}},
		{"a unit that is not a duration", twoTables + "slaProperties:\n  - {property: freshness, value: 1, unit: y, element: orders.ordered_at}\n",
			[]string{"orders !is not a duration"}},
		{"two load-time columns leave the choice to the contract", `schema:
  - name: events
    properties:
      - {name: loaded_at, logicalType: timestamp}
      - {name: ingested_at, logicalType: timestamp}
slaProperties:
  - {property: freshness, value: 1, unit: h}
`, []string{"events !no column to measure"}},
		{"names that are not plain identifiers never reach SQL", `schema:
  - name: events
    physicalName: "raw.events; drop table x"
    properties:
      - {name: loaded_at, logicalType: timestamp}
slaProperties:
  - {property: freshness, value: 1, unit: h}
`, []string{`events !"events; drop table x" is not a plain SQL identifier`}},
		{"retention and other SLAs are not freshness", twoTables + "slaProperties:\n  - {property: retention, value: 7, unit: y}\n  - {property: frequency, value: 1, unit: d}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.contract
			if !strings.Contains(body, "kind: DataContract") {
				body = contractHead + body
			}
			cs := LoadContracts(&config.RepoConfig{}, checks.MapTree{"contracts/c.yaml": []byte(body)})
			if len(cs) != 1 {
				t.Fatalf("read %d contracts", len(cs))
			}
			var got []string
			for _, tg := range FreshnessTargets(cs) {
				if tg.Problem != "" {
					got = append(got, tg.Object+" !"+tg.Problem)
					continue
				}
				got = append(got, tg.Object+" "+tg.Relation+"."+tg.Column+" "+tg.SLA.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
			for i := range got {
				w := tc.want[i]
				if strings.Contains(w, "!") && strings.HasPrefix(got[i], w[:strings.Index(w, "!")+1]) && strings.Contains(got[i], w[strings.Index(w, "!")+1:]) {
					continue
				}
				if got[i] != w {
					t.Errorf("target %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestLoadContractsFollowsTheContractsComponents(t *testing.T) {
	c := []byte(contractHead + twoTables + "slaProperties:\n  - {property: freshness, value: 1, unit: h}\n")
	tree := checks.MapTree{
		"contracts/orders.yaml":  c,
		"elsewhere/copy.yaml":    c,
		"contracts/notes.md":     []byte("# not yaml"),
		"contracts/other.yaml":   []byte("kind: Something\n"),
		"contracts/customer.yml": c,
	}
	cfg, err := config.ParseRepo(".conveyor.yml", []byte("version: 1\ncomponents:\n  - name: contracts\n    kind: contracts\n    paths: [\"contracts/**\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, fc := range LoadContracts(cfg, tree) {
		paths = append(paths, fc.Path)
	}
	if got := strings.Join(paths, ","); got != "contracts/customer.yml,contracts/orders.yaml" {
		t.Fatalf("with a contracts component: %s", got)
	}
	paths = nil
	for _, fc := range LoadContracts(&config.RepoConfig{}, tree) {
		paths = append(paths, fc.Path)
	}
	if got := strings.Join(paths, ","); got != "contracts/customer.yml,contracts/orders.yaml,elsewhere/copy.yaml" {
		t.Fatalf("without one, every contract: %s", got)
	}
}

func TestLatestValue(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		name   string
		rows   warehouse.Rows
		want   time.Time
		reason string
	}{
		{"a timestamp", warehouse.Rows{Values: [][]any{{at.In(time.FixedZone("CET", 3600))}}}, at, ""},
		{"a text timestamp", warehouse.Rows{Values: [][]any{{"2026-03-01 12:30:00"}}}, at, ""},
		{"an RFC 3339 text", warehouse.Rows{Values: [][]any{{"2026-03-01T13:30:00+01:00"}}}, at, ""},
		{"an empty table", warehouse.Rows{Values: [][]any{{nil}}}, time.Time{}, "no rows"},
		{"a number", warehouse.Rows{Values: [][]any{{int64(5)}}}, time.Time{}, "int64 values"},
		{"not a time text", warehouse.Rows{Values: [][]any{{"yesterday"}}}, time.Time{}, `"yesterday"`},
		{"no row", warehouse.Rows{}, time.Time{}, "no value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := latestValue(tc.rows)
			if !got.Equal(tc.want) || (tc.reason == "") != (reason == "") || !strings.Contains(reason, tc.reason) {
				t.Fatalf("got %v %q, want %v %q", got, reason, tc.want, tc.reason)
			}
		})
	}
}

func TestFreshnessJSON(t *testing.T) {
	f := Freshness{FreshnessTarget: FreshnessTarget{Object: "orders", SLA: 2 * time.Hour}, Status: Stale,
		Latest: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Age: 3 * time.Hour}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v["sla_seconds"] != 7200.0 || v["age_seconds"] != 10800.0 || v["status"] != "stale" || v["object"] != "orders" {
		t.Fatalf("json: %s", b)
	}
	b, _ = json.Marshal(Freshness{Status: Unknown})
	if strings.Contains(string(b), "age_seconds") || strings.Contains(string(b), `"latest"`) {
		t.Fatalf("an unknown freshness claims an age: %s", b)
	}
}
