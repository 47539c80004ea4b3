package githubemu

import (
	"fmt"
	"slices"
	"strings"
)

// fileDiff is one entry of GitHub's "files" list in compare and pull request files.
type fileDiff struct {
	filename, previous, status string
	sha                        string
	additions, deletions       int
	patch                      string
}

// diffTrees compares two commits' files the way GitHub lists them: sorted by path, with
// exact-content moves reported as renames (GitHub also pairs near-identical files; the
// emulator only pairs identical ones).
func (r *Repo) diffTrees(baseSHA, headSHA string) []fileDiff {
	var baseFiles, headFiles map[string]string
	if c := r.commits[baseSHA]; c != nil {
		baseFiles = c.files
	}
	if c := r.commits[headSHA]; c != nil {
		headFiles = c.files
	}
	var removed, added []string
	var out []fileDiff
	for p, b := range baseFiles {
		h, ok := headFiles[p]
		switch {
		case !ok:
			removed = append(removed, p)
		case h != b:
			out = append(out, r.fileDiff(p, "", "modified", b, h))
		}
	}
	for p := range headFiles {
		if _, ok := baseFiles[p]; !ok {
			added = append(added, p)
		}
	}
	slices.Sort(removed)
	slices.Sort(added)
	used := map[string]bool{}
	for _, a := range added {
		renamedFrom := ""
		for _, d := range removed {
			if !used[d] && baseFiles[d] == headFiles[a] {
				renamedFrom = d
				used[d] = true
				break
			}
		}
		if renamedFrom != "" {
			out = append(out, fileDiff{filename: a, previous: renamedFrom, status: "renamed", sha: headFiles[a]})
			continue
		}
		out = append(out, r.fileDiff(a, "", "added", "", headFiles[a]))
	}
	for _, d := range removed {
		if !used[d] {
			out = append(out, r.fileDiff(d, "", "removed", baseFiles[d], ""))
		}
	}
	slices.SortFunc(out, func(a, b fileDiff) int { return strings.Compare(a.filename, b.filename) })
	return out
}

func (r *Repo) fileDiff(path, prev, status, oldBlob, newBlob string) fileDiff {
	oldLines := splitLines(string(r.blobs[oldBlob]))
	newLines := splitLines(string(r.blobs[newBlob]))
	patch, add, del := unifiedPatch(oldLines, newLines)
	sha := newBlob
	if status == "removed" {
		sha = oldBlob
	}
	return fileDiff{filename: path, previous: prev, status: status, sha: sha, additions: add, deletions: del, patch: patch}
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
}

// lineDiff is a longest-common-subsequence diff; large inputs fall back to "replace all",
// which is still a valid patch.
func lineDiff(a, b []string) []diffOp {
	n, m := len(a), len(b)
	if n*m > 4_000_000 {
		var ops []diffOp
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}

// unifiedPatch renders hunks with three lines of context, the form GitHub puts in "patch"
// (no file header lines).
func unifiedPatch(a, b []string) (patch string, additions, deletions int) {
	ops := lineDiff(a, b)
	const ctx = 3
	var sb strings.Builder
	oldLine, newLine := make([]int, len(ops)), make([]int, len(ops))
	o, nn := 1, 1
	for k, op := range ops {
		oldLine[k], newLine[k] = o, nn
		switch op.kind {
		case ' ':
			o++
			nn++
		case '-':
			o++
			deletions++
		case '+':
			nn++
			additions++
		}
	}
	k := 0
	for k < len(ops) {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-ctx)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(run, end+ctx)
				break
			}
			end = run
		}
		var oc, nc int
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				oc++
			}
			if op.kind != '-' {
				nc++
			}
		}
		os, ns := oldLine[start], newLine[start]
		if oc == 0 {
			os--
		}
		if nc == 0 {
			ns--
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", os, oc, ns, nc)
		for _, op := range ops[start:end] {
			sb.WriteByte(op.kind)
			sb.WriteString(op.line)
			sb.WriteByte('\n')
		}
		k = end
	}
	return strings.TrimSuffix(sb.String(), "\n"), additions, deletions
}
