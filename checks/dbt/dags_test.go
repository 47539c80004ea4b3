package dbt

import (
	"strings"
	"testing"
)

func TestScanDAGFindsCommandsNotProse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // commands found
	}{
		{"plain", `BashOperator(bash_command="dbt run --select stg_orders")`, []string{"dbt run --select stg_orders"}},
		{"global flags", `BashOperator(bash_command="dbt --no-use-colors --log-format json build -s tag:finance")`, []string{"dbt --no-use-colors --log-format json build -s tag:finance"}},
		{"a comment about dbt", "# This dbt DAG will run every day\nx = 1\n", nil},
		{"installing dbt", `BashOperator(bash_command="pip install dbt-snowflake && python run.py")`, nil},
		{"constants three deep", "DIR = \"/dbt\"\nCD = f\"cd {DIR}\"\nDBT = f\"{CD} && dbt --no-use-colors\"\nBashOperator(bash_command=f\"{DBT} test -s marts\")\n",
			[]string{"dbt --no-use-colors test -s marts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range ScanDAG("dags/x.py", []byte(tc.src)) {
				got = append(got, c.Command)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("commands = %q, want %q", got, tc.want)
			}
		})
	}
}
