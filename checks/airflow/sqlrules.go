package airflow

import (
	"bytes"
	"strconv"

	"github.com/parcelflow/conveyor/checks/loadhazard"
)

// sqlHazardRules names each duplicate-load hazard's rule.
var sqlHazardRules = map[string]string{
	loadhazard.CopyForce:       RuleSQLCopyForce,
	loadhazard.LoadUncertain:   RuleSQLLoadUncertain,
	loadhazard.RecreatesTarget: RuleSQLRecreatesTarget,
	loadhazard.MergeNotDeduped: RuleSQLMergeNotDeduped,
}

// sqlKeywords start the statements a duplicate load hides in; a string
// holding none of them is not SQL worth scanning.
var sqlKeywords = [][]byte{[]byte("copy"), []byte("COPY"), []byte("merge"), []byte("MERGE"), []byte("create"), []byte("CREATE"), []byte("drop"), []byte("DROP")}

// sqlRules scans the SQL a DAG file holds in its string literals (the
// statements its operators run) for ways to load the same data twice, as
// the dbt check does for models. The tables the file COPY INTO are its
// load targets.
func sqlRules(in *interp, t *ptree) {
	var files []loadhazard.File
	var nodes []int32
	for n := int32(0); int(n) < len(t.nodes); n++ {
		x := &t.nodes[n]
		if x.kind != "string" {
			continue
		}
		raw := t.src[x.start:x.end]
		hit := false
		for _, k := range sqlKeywords {
			if bytes.Contains(raw, k) {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		files = append(files, loadhazard.File{Path: strconv.Itoa(len(nodes)), SQL: stringLiteral(t, n)})
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
