package airflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/deploy/executor"
)

// DefaultImportTimeout bounds the import command when the repo names none.
const DefaultImportTimeout = 5 * time.Minute

// ImportReport is the outcome of the repo's own import command.
type ImportReport struct {
	// Status is not-configured, skipped (no executor), passed or failed.
	Status     string        `json:"status"`
	Command    string        `json:"command,omitempty"`
	ExitCode   int           `json:"exit_code,omitempty"`
	TimedOut   bool          `json:"timed_out,omitempty"`
	DurationMS int64         `json:"duration_ms,omitempty"`
	Errors     []ImportError `json:"errors"`
	// Output is the tail of the command's output when it failed without
	// reporting import errors in the expected format.
	Output  string `json:"output,omitempty"`
	Summary string `json:"-"`
}

// ImportError is one file Airflow could not import.
type ImportError struct {
	// File is the repo file Airflow's path maps to; empty when no file of
	// the repo matches it (then only AirflowPath says where).
	File string `json:"file"`
	// AirflowPath is the path as Airflow reported it, on its own machine.
	AirflowPath string `json:"airflow_path"`
	Line        int    `json:"line"`
	Error       string `json:"error"`
	// Annotated is true when the error is annotated on the PR: its file is
	// part of the change. The others are listed in the summary.
	Annotated bool `json:"annotated"`
}

// importCheck runs the airflow component's import command, when one is named.
func (st *state) importCheck(ctx context.Context) {
	rep := ImportReport{Status: "not-configured", Errors: []ImportError{}}
	defer func() { st.details.ImportCheck = rep }()
	comp := componentFor(st.in.Config)
	if comp == nil || strings.TrimSpace(comp.Commands.Import) == "" {
		rep.Summary = "No import command is configured (`commands.import` of the airflow component), so this result is static analysis alone: Airflow was not imported."
		return
	}
	rep.Command = comp.Commands.Import
	if st.in.Executor == nil || st.in.HeadDir == "" {
		rep.Status = "skipped"
		rep.Summary = fmt.Sprintf("The import command `%s` was not run here (no executor or checked-out tree), so this result is static analysis alone.", rep.Command)
		return
	}
	timeout := comp.Commands.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultImportTimeout
	}
	res, err := st.in.Executor.Run(ctx, executor.Command{Name: "airflow import check", Script: comp.Commands.Import, Dir: st.in.HeadDir, Timeout: timeout})
	if err != nil {
		rep.Status = "failed"
		rep.Output = err.Error()
		rep.Summary = fmt.Sprintf("The import command `%s` could not run: %v.", rep.Command, err)
		return
	}
	rep.ExitCode, rep.TimedOut, rep.DurationMS = res.ExitCode, res.TimedOut, res.Duration.Milliseconds()
	var files []string
	affected := map[string]bool{}
	for j, r := range st.head {
		files = append(files, r.Path)
		affected[r.Path] = st.isAffected[j]
	}
	errs, found := ParseImportErrors(res.Output, files)
	var elsewhere []string
	for j := range errs {
		e := &errs[j]
		// Like the static findings, only files of the change get annotations;
		// a path GitHub cannot place (no repo file matches it) cannot.
		e.Annotated = e.File != "" && affected[e.File]
		if e.File != "" {
			st.add(Finding{Rule: RuleImportError, File: e.File, Line: e.Line, Message: "Airflow could not import this file: " + lastLine(e.Error)}, e.Annotated)
		}
		if !e.Annotated {
			elsewhere = append(elsewhere, importErrorLine(*e))
		}
	}
	rep.Errors = errs
	switch {
	case res.TimedOut:
		rep.Status = "failed"
		rep.Output = tail(res.Output, 2000)
		rep.Summary = fmt.Sprintf("The import command `%s` timed out after %s, so Airflow's import was not confirmed.", rep.Command, timeout)
	case len(errs) > 0:
		rep.Status = "failed"
		rep.Summary = fmt.Sprintf("The import command `%s` reported %d import errors; %d are annotated on the files of this change.", rep.Command, len(errs), len(errs)-len(elsewhere))
	case res.ExitCode != 0:
		rep.Status = "failed"
		rep.Output = tail(res.Output, 2000)
		how := "printed no import errors in the list-import-errors JSON format"
		if found {
			how = "reported no import errors"
		}
		rep.Summary = fmt.Sprintf("The import command `%s` exited %d and %s; its output is in the details.", rep.Command, res.ExitCode, how)
	default:
		rep.Status = "passed"
		rep.Summary = fmt.Sprintf("The import command `%s` passed in %s: Airflow imported every DAG file.", rep.Command, res.Duration.Round(time.Millisecond))
	}
	if len(elsewhere) > 0 {
		const shown = 20
		rep.Summary += "\n\nImport errors outside this change, or at paths that match no file of the repo:\n"
		for _, l := range elsewhere[:min(len(elsewhere), shown)] {
			rep.Summary += "\n- " + l
		}
		if len(elsewhere) > shown {
			rep.Summary += fmt.Sprintf("\n- … and %d more in the details", len(elsewhere)-shown)
		}
		rep.Summary += "\n"
	}
}

// importErrorLine is one import error as a summary list item.
func importErrorLine(e ImportError) string {
	msg := strings.ReplaceAll(lastLine(e.Error), "`", "'")
	if e.File == "" {
		return fmt.Sprintf("`%s` (no file of this repo matches the path): %s", e.AirflowPath, msg)
	}
	return fmt.Sprintf("`%s:%d`: %s", e.File, e.Line, msg)
}

var (
	traceLine  = regexp.MustCompile(`File "([^"]+)", line (\d+)`)
	syntaxLine = regexp.MustCompile(`\(([^()]+\.py), line (\d+)\)`)
)

// ParseImportErrors reads the output of `airflow dags list-import-errors -o
// json` (a JSON list of {"filename" or "filepath", "error"}), possibly
// surrounded by other output, and maps each entry to a repo file among files
// and the line its traceback points at. found reports whether such a list
// was present at all.
func ParseImportErrors(output string, files []string) (errs []ImportError, found bool) {
	errs = []ImportError{}
	type entry struct {
		Filename string `json:"filename"`
		Filepath string `json:"filepath"`
		Error    string `json:"error"`
	}
	var entries []entry
	data := []byte(output)
	for off := 0; off < len(data); {
		j := bytes.IndexByte(data[off:], '[')
		if j < 0 {
			break
		}
		start := off + j
		dec := json.NewDecoder(bytes.NewReader(data[start:]))
		var got []entry
		if err := dec.Decode(&got); err == nil && (len(got) == 0 || got[0].Error != "" || got[0].Filename != "" || got[0].Filepath != "") {
			entries, found = got, true
			break
		}
		off = start + 1
	}
	for _, e := range entries {
		name := e.Filename
		if name == "" {
			name = e.Filepath
		}
		ie := ImportError{File: matchRepoFile(name, files), AirflowPath: name, Error: e.Error}
		if ie.File != "" {
			ie.Line = tracebackLine(e.Error, name, ie.File)
		} else {
			ie.Line = max(tracebackLine(e.Error, name, name), 1)
		}
		errs = append(errs, ie)
	}
	return errs, found
}

// matchRepoFile maps a path on the machine that ran Airflow to the repo file
// sharing the longest path suffix with it (at least the file name). It
// returns "" when no repo file matches, or when two match equally well: an
// annotation must name a file of the repo, and a guess would land on the
// wrong one.
func matchRepoFile(name string, files []string) string {
	best, bestLen, tie := "", 0, false
	for _, f := range files {
		switch n := commonSuffixParts(name, f); {
		case n > bestLen:
			best, bestLen, tie = f, n, false
		case n == bestLen && n > 0 && f != best:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

func commonSuffixParts(a, b string) int {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(pa) && n < len(pb) && pa[len(pa)-1-n] == pb[len(pb)-1-n] {
		n++
	}
	return n
}

// tracebackLine returns the line of file the traceback ends at, or 1.
func tracebackLine(tb, name, file string) int {
	line := 0
	for _, m := range traceLine.FindAllStringSubmatch(tb, -1) {
		if m[1] == name || commonSuffixParts(m[1], file) > 0 && commonSuffixParts(m[1], file) >= commonSuffixParts(name, file) {
			line, _ = strconv.Atoi(m[2])
		}
	}
	if line == 0 {
		for _, m := range syntaxLine.FindAllStringSubmatch(tb, -1) {
			if commonSuffixParts(m[1], file) > 0 {
				line, _ = strconv.Atoi(m[2])
			}
		}
	}
	return max(line, 1)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if j := strings.LastIndexByte(s, '\n'); j >= 0 {
		return strings.TrimSpace(s[j+1:])
	}
	return s
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
