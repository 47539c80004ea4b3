package policy

import (
	"fmt"
	"strings"

	"github.com/parcelflow/conveyor/config"
)

// RiskLevel is how carefully a release must travel.
type RiskLevel string

// Risk levels.
const (
	// RiskLow releases may flow to prod automatically after merge.
	RiskLow RiskLevel = "low"
	// RiskHigh releases wait for an explicit `/promote prod`.
	RiskHigh RiskLevel = "high"
)

// Risk is the classifier's verdict with its reasons.
type Risk struct {
	Level   RiskLevel `json:"level"`
	Reasons []string  `json:"reasons"`
}

// alwaysHigh returns the label of a signal kind that makes any release high
// risk, or false for kinds that only count when their check marks them High.
func alwaysHigh(k SignalKind) (string, bool) {
	switch k {
	case SignalBreakingSchema:
		return "schema-breaking change", true
	case SignalCatchupStorm:
		return "catch-up storm", true
	case SignalInfrastructure:
		return "infrastructure change", true
	case SignalStatefulDestroy:
		return "stateful resource destroyed or replaced", true
	case SignalIAM:
		return "IAM change", true
	case SignalNetwork:
		return "network exposure change", true
	case SignalStreaming:
		return "streaming consumer change", true
	case SignalBackfill:
		return "backfill", true
	}
	return "", false
}

// ClassifyRisk decides a release's risk from the signals its checks raised
// and the kinds of the components it changes. Low risk is a change to DAGs
// or dbt models only, with no schema-breaking change, catch-up storm,
// infrastructure, streaming or backfill; anything else is high, with every
// reason listed. Files outside every component deploy nothing and are not
// passed in. A signal of another kind makes the release high only when its
// check marked it High.
func ClassifyRisk(signals []Signal, changedKinds []string) Risk {
	var reasons []string
	kinds := uniqueSorted(changedKinds)
	for _, k := range kinds {
		if k != config.KindAirflow && k != config.KindDbt {
			reasons = append(reasons, fmt.Sprintf("changes %s components (only airflow and dbt changes can be low risk)", k))
		}
	}
	for _, s := range signals {
		label, high := alwaysHigh(s.Kind)
		if !high && !s.High {
			continue
		}
		if label == "" {
			label = string(s.Kind)
		}
		reasons = append(reasons, describeSignal(label, s))
	}
	if len(reasons) > 0 {
		return Risk{Level: RiskHigh, Reasons: uniqueSorted(reasons)}
	}
	if len(kinds) == 0 {
		return Risk{Level: RiskLow, Reasons: []string{"no deployable component changes"}}
	}
	why := fmt.Sprintf("only %s changes, with no schema-breaking change, catch-up storm, infrastructure, streaming or backfill", strings.Join(kinds, " and "))
	var minor []string
	for _, s := range signals {
		minor = append(minor, string(s.Kind))
	}
	if len(minor) > 0 {
		why += "; also noted: " + strings.Join(uniqueSorted(minor), ", ")
	}
	return Risk{Level: RiskLow, Reasons: []string{why}}
}

func describeSignal(label string, s Signal) string {
	var where []string
	if s.Component != "" {
		where = append(where, s.Component)
	}
	if s.Path != "" {
		where = append(where, s.Path)
	}
	out := label
	if len(where) > 0 {
		out += " in " + strings.Join(where, " ")
	}
	if s.Reason != "" {
		out += ": " + s.Reason
	}
	if s.Check != "" {
		out += " (" + s.Check + ")"
	}
	return out
}
