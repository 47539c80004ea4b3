package airflow

import (
	"strings"
	"testing"
)

// One import line gives at most one airflow3-removed finding per name it
// imports; a removed module is not reported again beside its names.
func TestRemovedImportOnce(t *testing.T) {
	cases := []struct {
		src  string
		want []string // messages up to "; use"
	}{
		{"from airflow.utils.dates import days_ago\n",
			[]string{"days_ago is removed in Airflow 3 with airflow.utils.dates"}},
		{"from airflow.utils.dates import days_ago, cron_presets\n",
			[]string{"days_ago is removed in Airflow 3 with airflow.utils.dates", "cron_presets is removed in Airflow 3 with airflow.utils.dates"}},
		{"from airflow.operators.dummy import DummyOperator\n",
			[]string{"DummyOperator is removed in Airflow 3 with airflow.operators.dummy"}},
		{"from airflow.operators.dummy_operator import DummyOperator\n",
			[]string{"DummyOperator is removed in Airflow 3"}},
		{"from airflow.operators.subdag_operator import SubDagOperator as S\n",
			[]string{"SubDagOperator is removed in Airflow 3"}},
		{"import airflow.utils.dates\n",
			[]string{"airflow.utils.dates is removed in Airflow 3"}},
		{"from airflow.utils.dates import *\n",
			[]string{"airflow.utils.dates is removed in Airflow 3"}},
		{"from airflow.operators.bash import BashOperator\n", []string{}},
	}
	for _, tc := range cases {
		t.Run(strings.TrimSpace(tc.src), func(t *testing.T) {
			res := ParseFile("dags/a.py", []byte(tc.src))
			got := []string{}
			for _, f := range res.Findings {
				if f.Rule == RuleAirflow3Removed && !strings.HasSuffix(f.Message, movedMarker) {
					msg, _, _ := strings.Cut(f.Message, "; use")
					got = append(got, msg)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("airflow3-removed findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
