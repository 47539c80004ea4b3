// Package policy makes Conveyor's decisions: who owns a change, who may run a
// command, whether a release may be promoted, and how risky a change is. It
// never does I/O: every function takes its inputs and returns a decision with
// the reasons for it, so every rule is table-testable.
package policy

import "time"

// SignalKind names a fact a check found that matters to risk or approvals.
type SignalKind string

// Signals the checks raise.
const (
	// SignalInfrastructure: the change touches Terraform (DevOps review required).
	SignalInfrastructure SignalKind = "infrastructure"
	// SignalStatefulDestroy: a plan deletes or replaces a stateful resource.
	SignalStatefulDestroy SignalKind = "stateful-destroy"
	// SignalIAM: IAM policies or roles change.
	SignalIAM SignalKind = "iam"
	// SignalNetwork: security groups or network exposure change.
	SignalNetwork SignalKind = "network"
	// SignalCatchupStorm: a DAG would schedule many catch-up runs on deploy.
	SignalCatchupStorm SignalKind = "catchup-storm"
	// SignalDAGSemantics: schedule, start_date, catchup or dag_id of an existing DAG changed, or a DAG was deleted.
	SignalDAGSemantics SignalKind = "dag-semantics"
	// SignalBreakingSchema: a contracted model or data contract changes incompatibly.
	SignalBreakingSchema SignalKind = "breaking-schema"
	// SignalFullRefresh: an incremental model needs a full refresh.
	SignalFullRefresh SignalKind = "full-refresh"
	// SignalDuplicateLoad: SQL that can load the same data twice.
	SignalDuplicateLoad SignalKind = "duplicate-load"
	// SignalStreaming: streaming consumers change.
	SignalStreaming SignalKind = "streaming"
	// SignalBackfill: the change runs or needs a backfill.
	SignalBackfill SignalKind = "backfill"
)

// Signal is one risk-relevant fact, with where it came from and why.
type Signal struct {
	Kind      SignalKind `json:"kind"`
	Check     string     `json:"check,omitempty"`
	Component string     `json:"component,omitempty"`
	Path      string     `json:"path,omitempty"`
	Reason    string     `json:"reason"`
	// High forces the release to high risk.
	High bool `json:"high"`
}

// ApprovalRequirement is an approval a check demands beyond path ownership:
// consumers of a broken contract, DevOps approval of one specific plan.
type ApprovalRequirement struct {
	// Name identifies the requirement in summaries ("contract orders: consumers").
	Name   string   `json:"name"`
	Reason string   `json:"reason"`
	Teams  []string `json:"teams"`
	// Subject binds the approval to a content hash (a plan, a contract version),
	// so an approval of one plan does not carry over to a different plan.
	Subject string `json:"subject,omitempty"`
	Check   string `json:"check,omitempty"`
	// Since is when Subject came into force at the commit: the handler sets
	// it when it first records the subject there, and keeps it while the
	// subject stays the same. An approval naming no subject counts only if
	// given after it. Zero (unknown) means only an approval naming the
	// subject counts.
	Since time.Time `json:"since,omitzero"`
}
