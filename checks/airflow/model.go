package airflow

import (
	"time"

	"github.com/parcelflow/conveyor/checks"
)

// FileResult is what ParseFile finds in one Python file: the DAGs it defines
// and the findings that need only the file itself.
type FileResult struct {
	Path string `json:"path"`
	// SyntaxOK is false when the file does not parse; DAGs then holds what
	// could be recovered around the error.
	SyntaxOK bool      `json:"syntax_ok"`
	DAGs     []*DAG    `json:"dags"`
	Findings []Finding `json:"findings"`
	// Imports are the modules the file imports, as written.
	Imports []string `json:"imports,omitempty"`
	// Deps are the repo files this one imports (helpers, shared config).
	Deps []string `json:"deps,omitempty"`
	// DefinesAirflow is true when the file imports Airflow at all.
	DefinesAirflow bool `json:"-"`
}

// DAG is one DAG as the scheduler would see it after parsing the file.
type DAG struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// DagID is empty when it cannot be known without running the code.
	DagID string `json:"dag_id"`
	// IDPattern shows what is known of a dag_id built at runtime ("load_{table}").
	IDPattern string `json:"id_pattern,omitempty"`
	// Style is how the DAG is declared: with, assign, call, decorator.
	Style string `json:"style"`
	// Generated is "loop" or "factory" when the DAG is built by a loop or a
	// function; such DAGs are reported as dynamic.
	Generated string `json:"generated,omitempty"`
	// Schedule as written: "@daily", "0 3 * * *", "timedelta(hours=1)", "None";
	// empty when not set.
	Schedule string `json:"schedule"`
	// ScheduleArg is the argument that set it: schedule, schedule_interval or timetable.
	ScheduleArg string `json:"schedule_arg,omitempty"`
	// StartDate is RFC 3339 when known, else the expression as written.
	StartDate string `json:"start_date,omitempty"`
	// StartDateRuntime is set when start_date changes at runtime, with why.
	StartDateRuntime string        `json:"start_date_runtime,omitempty"`
	Catchup          *bool         `json:"catchup"`
	MaxActiveRuns    *int          `json:"max_active_runs,omitempty"`
	Owner            string        `json:"owner,omitempty"`
	Retries          *int          `json:"retries,omitempty"`
	Tags             []string      `json:"tags"`
	Tasks            []*Task       `json:"tasks"`
	Edges            []Edge        `json:"edges"`
	start            time.Time     // parsed start_date, zero when unknown
	end              time.Time     // parsed end_date, zero when unknown
	every            time.Duration // fixed interval of a timedelta schedule
	args             map[string]argPos
}

// Dynamic reports whether the DAG is built by a loop or factory, or its
// dag_id is not a constant.
func (d *DAG) Dynamic() bool { return d.Generated != "" || d.DagID == "" }

// StartTime returns the parsed start_date, and whether it is known.
func (d *DAG) StartTime() (time.Time, bool) { return d.start, !d.start.IsZero() }

// argPos is where a DAG argument was written.
type argPos struct{ line, col, eline, ecol int }

// ArgLine returns the line where argument name (dag_id, schedule,
// start_date, catchup …) was set, or the DAG's own line.
func (d *DAG) ArgLine(name string) int {
	if p, ok := d.args[name]; ok {
		return p.line
	}
	return d.Line
}

// Task is one task of a DAG.
type Task struct {
	// TaskID is the full id, including any TaskGroup prefix; empty when unknown.
	TaskID    string `json:"task_id"`
	IDPattern string `json:"id_pattern,omitempty"`
	Operator  string `json:"operator"`
	Line      int    `json:"line"`
	Pool      string `json:"pool,omitempty"`
	Queue     string `json:"queue,omitempty"`
	// Mapped is true for dynamic task mapping (.expand).
	Mapped  bool `json:"mapped,omitempty"`
	col     int
	poolPos argPos
	quePos  argPos
}

// Edge is one dependency: Upstream runs before Downstream.
type Edge struct {
	Upstream   string `json:"upstream"`
	Downstream string `json:"downstream"`
}

// Finding is one problem at a place in a file.
type Finding struct {
	Rule      string       `json:"rule"`
	Level     checks.Level `json:"level"`
	File      string       `json:"file"`
	Line      int          `json:"line"`
	Column    int          `json:"column,omitempty"`
	EndLine   int          `json:"end_line,omitempty"`
	EndColumn int          `json:"end_column,omitempty"`
	DagID     string       `json:"dag_id,omitempty"`
	Message   string       `json:"message"`
	// dags are the DAGs the finding is about, none for a finding about the
	// file (imports, top-level code, secrets). A dag_id alone cannot say:
	// DAGs whose dag_id is only known at runtime have none, two may share
	// one, and one default_args entry can be wrong for several DAGs at once.
	dags []*DAG
}
