package policy

import (
	"strings"
	"testing"
)

func TestClassifyRisk(t *testing.T) {
	tests := []struct {
		name    string
		signals []Signal
		kinds   []string
		want    RiskLevel
		reason  string
	}{
		{"dags only", nil, []string{"airflow"}, RiskLow, "only airflow changes"},
		{"dags and dbt", nil, []string{"dbt", "airflow", "dbt"}, RiskLow, "only airflow and dbt changes"},
		{"nothing deployable", nil, nil, RiskLow, "no deployable component"},
		{"schema-breaking", []Signal{{Kind: SignalBreakingSchema, Component: "warehouse", Path: "dbt/models/orders.sql", Reason: "column amount dropped", Check: "conveyor/dbt"}}, []string{"dbt"}, RiskHigh,
			"schema-breaking change in warehouse dbt/models/orders.sql: column amount dropped (conveyor/dbt)"},
		{"catch-up storm", []Signal{{Kind: SignalCatchupStorm, Reason: "400 runs"}}, []string{"airflow"}, RiskHigh, "catch-up storm: 400 runs"},
		{"infrastructure kind", nil, []string{"terraform"}, RiskHigh, "changes terraform components"},
		{"infrastructure signal", []Signal{{Kind: SignalInfrastructure}}, []string{"airflow"}, RiskHigh, "infrastructure change"},
		{"streaming", nil, []string{"streaming"}, RiskHigh, "changes streaming"},
		{"streaming signal", []Signal{{Kind: SignalStreaming}}, []string{"airflow"}, RiskHigh, "streaming consumer change"},
		{"backfill", []Signal{{Kind: SignalBackfill, Reason: "needs 30 days"}}, []string{"dbt"}, RiskHigh, "backfill: needs 30 days"},
		{"contracts are not dags or dbt", nil, []string{"contracts"}, RiskHigh, "changes contracts"},
		{"iam", []Signal{{Kind: SignalIAM}}, []string{"airflow"}, RiskHigh, "IAM change"},
		{"a minor signal stays low", []Signal{{Kind: SignalDAGSemantics, Reason: "schedule changed"}}, []string{"airflow"}, RiskLow, "also noted: dag-semantics"},
		{"a minor signal marked high", []Signal{{Kind: SignalFullRefresh, High: true, Reason: "3 TB table"}}, []string{"dbt"}, RiskHigh, "full-refresh: 3 TB table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ClassifyRisk(tt.signals, tt.kinds)
			if r.Level != tt.want {
				t.Errorf("level = %s, want %s (%v)", r.Level, tt.want, r.Reasons)
			}
			if !strings.Contains(strings.Join(r.Reasons, "\n"), tt.reason) {
				t.Errorf("reasons %v lack %q", r.Reasons, tt.reason)
			}
		})
	}
}

func TestClassifyRiskListsEveryReason(t *testing.T) {
	r := ClassifyRisk([]Signal{{Kind: SignalBreakingSchema}, {Kind: SignalBackfill}}, []string{"terraform", "airflow"})
	if r.Level != RiskHigh || len(r.Reasons) != 3 {
		t.Errorf("got %+v, want three reasons", r)
	}
}
