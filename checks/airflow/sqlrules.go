package airflow

import (
	"strconv"
	"strings"

	"github.com/parcelflow/conveyor/checks/loadhazard"
)

// sqlHazardRules names each duplicate-load hazard's rule.
var sqlHazardRules = map[string]string{
	loadhazard.CopyForce:       RuleSQLCopyForce,
	loadhazard.LoadUncertain:   RuleSQLLoadUncertain,
	loadhazard.RecreatesTarget: RuleSQLRecreatesTarget,
	loadhazard.MergeNotDeduped: RuleSQLMergeNotDeduped,
}

var escapedBlanks = strings.NewReplacer(`\n`, "  ", `\t`, "  ", `\r`, "  ")

// sqlRules scans the SQL a DAG file holds in its string literals (the
// statements its operators run) for ways to load the same data twice, as
// the dbt check does for models. The tables the file COPY INTO are its
// load targets. Each literal is scanned as written, quotes and escapes
// included, so a finding's line in it is its line in the file.
func sqlRules(in *interp, t *ptree) {
	var files []loadhazard.File
	var nodes []int32
	for n := int32(0); int(n) < len(t.nodes); n++ {
		x := &t.nodes[n]
		if x.kind != "string" {
			continue
		}
		// Escaped whitespace reads as the blanks it stands for, at the same
		// length, so keywords stay apart and columns stay put.
		files = append(files, loadhazard.File{Path: strconv.Itoa(len(nodes)), SQL: escapedBlanks.Replace(string(t.src[x.start:x.end]))})
		nodes = append(nodes, n)
	}
	if len(files) == 0 {
		return
	}
	for _, h := range loadhazard.Scan(files, loadhazard.CopyTargets(files)) {
		i, _ := strconv.Atoi(h.Path)
		x := &t.nodes[nodes[i]]
		line, col := int(x.line)+h.Line-1, int(x.col)
		if h.Line > 1 {
			col = 1
		}
		in.addFinding(sqlHazardRules[h.Kind], argPos{line, col, line, col}, "", h.Message)
	}
}
