package checks

import (
	"bytes"
	"sort"
)

// ChangeStatus says how a file changed between base and head.
type ChangeStatus string

// Change statuses, in GitHub's compare words.
const (
	Added    ChangeStatus = "added"
	Modified ChangeStatus = "modified"
	Removed  ChangeStatus = "removed"
	Renamed  ChangeStatus = "renamed"
)

// Change is one file that differs between base and head.
type Change struct {
	Path         string       `json:"path"`
	Status       ChangeStatus `json:"status"`
	PreviousPath string       `json:"previous_path,omitempty"`
}

// Diff compares two trees file by file. A removed file whose exact content
// reappears under one new path is reported as a rename, as git does.
func Diff(base, head Tree) []Change {
	var changes []Change
	baseFiles := map[string]bool{}
	for _, p := range base.Files() {
		baseFiles[p] = true
	}
	var added []string
	for _, p := range head.Files() {
		if !baseFiles[p] {
			added = append(added, p)
			continue
		}
		b, _ := base.ReadFile(p)
		h, _ := head.ReadFile(p)
		if !bytes.Equal(b, h) {
			changes = append(changes, Change{Path: p, Status: Modified})
		}
	}
	headFiles := map[string]bool{}
	for _, p := range head.Files() {
		headFiles[p] = true
	}
	var removed []string
	for _, p := range base.Files() {
		if !headFiles[p] {
			removed = append(removed, p)
		}
	}
	byContent := map[string][]string{}
	for _, p := range removed {
		b, _ := base.ReadFile(p)
		if len(b) > 0 {
			byContent[string(b)] = append(byContent[string(b)], p)
		}
	}
	renamedFrom := map[string]bool{}
	for _, p := range added {
		h, _ := head.ReadFile(p)
		if olds := byContent[string(h)]; len(h) > 0 && len(olds) > 0 {
			changes = append(changes, Change{Path: p, Status: Renamed, PreviousPath: olds[0]})
			renamedFrom[olds[0]] = true
			byContent[string(h)] = olds[1:]
			continue
		}
		changes = append(changes, Change{Path: p, Status: Added})
	}
	for _, p := range removed {
		if !renamedFrom[p] {
			changes = append(changes, Change{Path: p, Status: Removed})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes
}
