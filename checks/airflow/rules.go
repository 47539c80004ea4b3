package airflow

import "github.com/parcelflow/conveyor/checks"

// Rule IDs. They are stable: `.conveyor.yml` turns them off or changes their
// severity by these names (checks.airflow.rules.<id>), and docs/checks/airflow.md
// explains each one.
const (
	RuleSyntax             = "syntax-error"
	RuleImportError        = "import-error"
	RuleDuplicateDagID     = "duplicate-dag-id"
	RuleBaseCollision      = "dag-id-collision"
	RuleCycle              = "dag-cycle"
	RuleDuplicateTaskID    = "duplicate-task-id"
	RuleDynamicStartDate   = "dynamic-start-date"
	RuleRuntimeValue       = "runtime-varying-value"
	RuleCatchupNotSet      = "catchup-not-set"
	RuleBackfillStorm      = "backfill-storm"
	RuleMaxActiveRuns      = "max-active-runs-missing"
	RuleScheduleChanged    = "schedule-changed"
	RuleStartDateMoved     = "start-date-moved"
	RuleCatchupEnabled     = "catchup-enabled"
	RuleDagRenamed         = "dag-id-renamed"
	RuleDagDeleted         = "dag-deleted"
	RuleTopLevelCode       = "top-level-code"
	RuleMissingOwner       = "missing-owner"
	RuleMissingRetries     = "missing-retries"
	RuleMissingTags        = "missing-tags"
	RuleUnknownOwner       = "unknown-owner"
	RuleHardcodedSecret    = "hardcoded-secret"
	RuleAirflow1Import     = "airflow1-import"
	RuleAirflow3Removed    = "airflow3-removed"
	RuleUnknownPool        = "unknown-pool"
	RuleUnknownQueue       = "unknown-queue"
	RuleDagDecoratorUnused = "dag-not-called"
	RuleSQLCopyForce       = "sql-copy-force"
	RuleSQLLoadUncertain   = "sql-load-uncertain-files"
	RuleSQLRecreatesTarget = "sql-recreates-load-target"
	RuleSQLMergeNotDeduped = "sql-merge-not-deduplicated"
)

// ruleInfo is a rule's default level and the title its annotations carry.
type ruleInfo struct {
	level checks.Level
	title string
}

// Rules lists every rule with its default level; the order is the docs' order.
var ruleTable = []struct {
	id string
	ruleInfo
}{
	{RuleSyntax, ruleInfo{checks.Fail, "Python syntax error"}},
	{RuleImportError, ruleInfo{checks.Fail, "DAG import error"}},
	{RuleDuplicateDagID, ruleInfo{checks.Fail, "Duplicate dag_id"}},
	{RuleBaseCollision, ruleInfo{checks.Fail, "dag_id collides with the base branch"}},
	{RuleCycle, ruleInfo{checks.Fail, "Dependency cycle"}},
	{RuleDuplicateTaskID, ruleInfo{checks.Fail, "Duplicate task_id"}},
	{RuleDynamicStartDate, ruleInfo{checks.Fail, "start_date changes at runtime"}},
	{RuleRuntimeValue, ruleInfo{checks.Warning, "Value changes on every parse"}},
	{RuleCatchupNotSet, ruleInfo{checks.Warning, "catchup not set"}},
	{RuleBackfillStorm, ruleInfo{checks.Fail, "Backfill storm on deploy"}},
	{RuleMaxActiveRuns, ruleInfo{checks.Warning, "max_active_runs not set"}},
	{RuleScheduleChanged, ruleInfo{checks.Notice, "Schedule changed"}},
	{RuleStartDateMoved, ruleInfo{checks.Warning, "start_date moved"}},
	{RuleCatchupEnabled, ruleInfo{checks.Warning, "catchup turned on"}},
	{RuleDagRenamed, ruleInfo{checks.Warning, "dag_id renamed"}},
	{RuleDagDeleted, ruleInfo{checks.Warning, "DAG deleted"}},
	{RuleTopLevelCode, ruleInfo{checks.Warning, "Runs on every scheduler parse"}},
	{RuleMissingOwner, ruleInfo{checks.Fail, "DAG has no owner"}},
	{RuleMissingRetries, ruleInfo{checks.Fail, "DAG sets no retries"}},
	{RuleMissingTags, ruleInfo{checks.Fail, "DAG has no tags"}},
	{RuleUnknownOwner, ruleInfo{checks.Fail, "Owner is not a known team"}},
	{RuleHardcodedSecret, ruleInfo{checks.Fail, "Hard-coded credential"}},
	{RuleAirflow1Import, ruleInfo{checks.Warning, "Airflow 1 import path"}},
	{RuleAirflow3Removed, ruleInfo{checks.Warning, "Removed in Airflow 3"}},
	{RuleUnknownPool, ruleInfo{checks.Fail, "Pool not declared"}},
	{RuleUnknownQueue, ruleInfo{checks.Fail, "Queue not declared"}},
	{RuleDagDecoratorUnused, ruleInfo{checks.Warning, "@dag function never called"}},
	{RuleSQLCopyForce, ruleInfo{checks.Fail, "COPY INTO … FORCE = TRUE loads twice"}},
	{RuleSQLLoadUncertain, ruleInfo{checks.Warning, "LOAD_UNCERTAIN_FILES may load twice"}},
	{RuleSQLRecreatesTarget, ruleInfo{checks.Fail, "Load target recreated"}},
	{RuleSQLMergeNotDeduped, ruleInfo{checks.Warning, "MERGE source not de-duplicated"}},
}

// RuleIDs returns every rule ID in documentation order.
func RuleIDs() []string {
	out := make([]string, len(ruleTable))
	for i, r := range ruleTable {
		out[i] = r.id
	}
	return out
}

func rule(id string) ruleInfo {
	for _, r := range ruleTable {
		if r.id == id {
			return r.ruleInfo
		}
	}
	return ruleInfo{checks.Warning, id}
}
