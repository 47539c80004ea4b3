package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/deploy/warehouse/duckdb"
)

// duckFile writes a DuckDB file with stmts and closes it, as a deployed
// environment's warehouse would be left.
func duckFile(t *testing.T, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wh.duckdb")
	wh, err := duckdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if err := wh.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := wh.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunFreshness(t *testing.T) {
	ctx := context.Background()
	sample := filepath.Join("..", "..", "testdata", "sample-repo")
	now := time.Now().UTC()
	ts := func(ago time.Duration) string {
		return "TIMESTAMP '" + now.Add(-ago).Format("2006-01-02 15:04:05") + "'"
	}
	orders := func(latest time.Duration) string {
		return `CREATE SCHEMA marts;
CREATE TABLE marts.fct_orders (order_id VARCHAR, ordered_at TIMESTAMP);
INSERT INTO marts.fct_orders VALUES ('o1', ` + ts(latest+3*time.Hour) + `), ('o2', ` + ts(latest) + `);
CREATE TABLE marts.fct_daily_revenue (revenue_date DATE, revenue DECIMAL(18,2));`
	}
	fresh := duckFile(t, orders(30*time.Minute))
	stale := duckFile(t, orders(5*time.Hour))
	emptyTable := duckFile(t, "CREATE SCHEMA marts; CREATE TABLE marts.fct_orders (order_id VARCHAR, ordered_at TIMESTAMP);")
	noTables := duckFile(t, "CREATE SCHEMA staging;")

	// A repo of its own: an SLA without an element, measured on the
	// table's load-time column, a TIMESTAMPTZ.
	own := t.TempDir()
	if err := os.MkdirAll(filepath.Join(own, "contracts"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		".conveyor.yml": `version: 1
components:
  - {name: contracts, kind: contracts, paths: ["contracts/**"]}
environments:
  - {name: dev, warehouse: {type: duckdb, path: WAREHOUSE}}
`,
		"contracts/events.yaml": `apiVersion: v3.1.0
kind: DataContract
id: urn:events
name: events
version: 1.0.0
status: active
schema:
  - name: events
    physicalName: raw.events
    properties:
      - {name: event_id, logicalType: string}
      - {name: _loaded_at, logicalType: timestamp}
slaProperties:
  - {property: latency, value: 15, unit: m}
`,
	}
	events := duckFile(t, `CREATE SCHEMA raw; CREATE TABLE raw.events (event_id VARCHAR, _loaded_at TIMESTAMPTZ);
INSERT INTO raw.events VALUES ('e1', '`+now.Add(-10*time.Minute).In(time.FixedZone("X", 5*3600)).Format("2006-01-02 15:04:05-07:00")+`');`)
	files[".conveyor.yml"] = strings.Replace(files[".conveyor.yml"], "WAREHOUSE", events, 1)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(own, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.duckdb")

	tests := []struct {
		name  string
		args  []string
		code  int
		want  []string
		avoid []string
	}{
		{"fresh", []string{"--repo", sample, "--env", "prod", "--duckdb", fresh}, exitOK, []string{
			"fresh    marts.fct_orders", "ordered_at", "30m", "2h", "contracts/orders.yaml:77",
			"unknown  marts.fct_daily_revenue", "no column to measure", "prod: 1 fresh, 0 stale, 1 unknown",
		}, nil},
		{"stale", []string{"--repo", sample, "--env", "prod", "--duckdb", stale}, exitFailed, []string{"stale    marts.fct_orders", "5h", "0 fresh, 1 stale"}, nil},
		{"an empty table is unknown", []string{"--repo", sample, "--env", "dev", "--duckdb", emptyTable}, exitOK, []string{"no rows with a value", "0 fresh, 0 stale, 2 unknown"}, nil},
		{"a missing table is unknown", []string{"--repo", sample, "--env", "dev", "--duckdb", noTables}, exitOK, []string{"unknown  marts.fct_orders", "fct_orders"}, []string{"fresh "}},
		{"the environment's own file, a load-time column, a time zone", []string{"--repo", own, "--env", "dev"}, exitOK, []string{"fresh   raw.events", "_loaded_at", "10m", "15m", "dev: 1 fresh"}, nil},
		{"no --env", []string{"--repo", sample, "--duckdb", fresh}, exitUsage, nil, nil},
		{"an unknown environment", []string{"--repo", sample, "--env", "qa", "--duckdb", fresh}, exitUsage, nil, nil},
		{"no DuckDB file named", []string{"--repo", sample, "--env", "prod"}, exitUsage, nil, nil},
		{"a DuckDB file that does not exist", []string{"--repo", sample, "--env", "prod", "--duckdb", missing}, exitUsage, nil, nil},
		{"bad format", []string{"--repo", sample, "--env", "prod", "--duckdb", fresh, "--format", "xml"}, exitUsage, nil, nil},
		{"no .conveyor.yml", []string{"--repo", t.TempDir(), "--env", "prod", "--duckdb", fresh}, exitUsage, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runFreshness(ctx, tc.args, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(out.String(), a) {
					t.Errorf("output has %q:\n%s", a, out.String())
				}
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("measuring a missing DuckDB file created it: %v", err)
	}

	t.Run("json", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := runFreshness(ctx, []string{"--repo", sample, "--env", "prod", "--duckdb", stale, "--format", "json"}, &out, &errb); code != exitFailed {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var rs []map[string]any
		if err := json.Unmarshal(out.Bytes(), &rs); err != nil || len(rs) != 2 {
			t.Fatalf("json: %v\n%s", err, out.String())
		}
		r := rs[0]
		age, _ := r["age_seconds"].(float64)
		if r["status"] != "stale" || r["relation"] != "marts.fct_orders" || r["column"] != "ordered_at" || r["sla_seconds"] != 7200.0 ||
			age < 5*3600 || age > 5*3600+120 {
			t.Fatalf("stale orders as json: %v", r)
		}
		if rs[1]["status"] != "unknown" || rs[1]["age_seconds"] != nil {
			t.Fatalf("daily revenue as json: %v", rs[1])
		}
	})
}
