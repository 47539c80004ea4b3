package airflow

import (
	"strconv"
	"strings"
	"time"
)

// The analyzer evaluates the parse-time part of a DAG file abstractly: it
// follows what the scheduler would execute when it imports the file (module
// code, functions that code calls, loops over known lists) and tracks values
// as far as they can be known without running anything.

type vkind uint8

const (
	vUnknown vkind = iota
	vStr
	vNum
	vBool
	vNone
	vList
	vDict
	vTime
	vDur
	vRef    // a name known only by its qualified path: "airflow.models.DAG"
	vFunc   // a function defined in Python source
	vDAG    // a DAG object
	vTask   // an operator or a TaskFlow call's result
	vGroup  // a TaskGroup
	vTaskFn // a @task-decorated function
	vModule // a sibling module imported from the repo
	vCall   // the result of calling something unknown; s holds its qualified name
)

// val is an abstract Python value.
type val struct {
	k     vkind
	s     string // str value; qualified name of a ref/call; pattern of an unknown string
	n     float64
	b     bool
	items []val    // list/tuple items, dict values
	keys  []string // dict keys (string keys only)
	// kpos is where each dict entry was written in the analyzed file, so a
	// finding about default_args["start_date"] lands on that entry rather
	// than on the DAG call that passes the dict; nil, or a zero argPos,
	// when not known (an entry set in another module or by dict.update).
	kpos []argPos
	t    time.Time
	d    time.Duration
	// months of a relativedelta, which has no fixed length.
	months int
	// expr is the source text, kept for values shown to reviewers (schedules).
	expr string
	// rt says why the value changes on every parse ("datetime.now()"); empty when stable.
	rt    string
	fn    *funcDef
	dag   *DAG
	task  *Task
	group *group
	mod   *module
}

var (
	none    = val{k: vNone}
	unknown = val{k: vUnknown}
)

func strVal(s string) val     { return val{k: vStr, s: s} }
func numVal(n float64) val    { return val{k: vNum, n: n} }
func boolVal(b bool) val      { return val{k: vBool, b: b} }
func refVal(q string) val     { return val{k: vRef, s: q} }
func patternVal(p string) val { return val{k: vUnknown, s: p} }
func listVal(items []val) val { return val{k: vList, items: items} }
func (v val) known() bool     { return v.k != vUnknown && v.k != vCall }

// dictGet returns a dict's value for key.
func (v val) dictGet(key string) (val, bool) {
	if v.k != vDict {
		return unknown, false
	}
	for i := len(v.keys) - 1; i >= 0; i-- {
		if v.keys[i] == key {
			return v.items[i], true
		}
	}
	return unknown, false
}

// dictSet returns a copy of a dict with key set, written at no known place.
func (v val) dictSet(key string, x val) val { return v.dictSetAt(key, x, argPos{}) }

// dictSetAt returns a copy of a dict with key set, written at at.
func (v val) dictSetAt(key string, x val, at argPos) val {
	out := val{k: vDict, keys: append([]string{}, v.keys...), items: append([]val{}, v.items...), rt: v.rt}
	if v.kpos != nil || at.line > 0 {
		// Positions are kept only once one is known: most dicts never need one.
		out.kpos = make([]argPos, len(v.keys), len(v.keys)+1)
		copy(out.kpos, v.kpos)
	}
	for i, k := range out.keys {
		if k == key {
			out.items[i] = x
			if out.kpos != nil {
				out.kpos[i] = at
			}
			return out
		}
	}
	out.keys = append(out.keys, key)
	out.items = append(out.items, x)
	if out.kpos != nil {
		out.kpos = append(out.kpos, at)
	}
	return out
}

// dictPosAt returns where the j-th entry of a dict was written, zero when unknown.
func (v val) dictPosAt(j int) argPos {
	if j < len(v.kpos) {
		return v.kpos[j]
	}
	return argPos{}
}

// dictPos returns where a dict's entry for key was written, zero when unknown.
func (v val) dictPos(key string) argPos {
	for i := len(v.keys) - 1; i >= 0; i-- {
		if v.keys[i] == key {
			return v.dictPosAt(i)
		}
	}
	return argPos{}
}

// truthy returns the value's truth and whether it is known.
func (v val) truthy() (bool, bool) {
	switch v.k {
	case vBool:
		return v.b, true
	case vNone:
		return false, true
	case vNum:
		return v.n != 0, true
	case vStr:
		return v.s != "", true
	case vList, vDict:
		return len(v.items) > 0, true
	case vDAG, vTask, vFunc, vTaskFn, vTime, vGroup:
		return true, true
	}
	return false, false
}

// display renders a value the way a reviewer would write it.
func (v val) display() string {
	if v.expr != "" {
		return v.expr
	}
	switch v.k {
	case vStr:
		return v.s
	case vNum:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case vBool:
		if v.b {
			return "True"
		}
		return "False"
	case vNone:
		return "None"
	case vTime:
		return v.t.Format(time.RFC3339)
	case vList:
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			parts[i] = it.display()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case vRef, vCall:
		return v.s
	}
	return v.s
}

// asInt returns an integer value.
func (v val) asInt() (int, bool) {
	if v.k == vNum && v.n == float64(int(v.n)) {
		return int(v.n), true
	}
	if v.k == vBool {
		if v.b {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// runtimeReason returns why v (or anything inside it) varies per parse.
func (v val) runtimeReason() string {
	if v.rt != "" {
		return v.rt
	}
	for _, it := range v.items {
		if r := it.runtimeReason(); r != "" {
			return r
		}
	}
	return ""
}

// tasksOf flattens a value into the tasks it refers to (lists, groups, XComArgs).
func (v val) tasksOf() []*Task {
	switch v.k {
	case vTask:
		if v.task != nil {
			return []*Task{v.task}
		}
	case vList:
		var out []*Task
		for _, it := range v.items {
			out = append(out, it.tasksOf()...)
		}
		return out
	case vGroup:
		if v.group != nil {
			return v.group.tasks
		}
	}
	return nil
}

// lastSeg returns the last dotted segment of a qualified name.
func lastSeg(q string) string {
	if i := strings.LastIndexByte(q, '.'); i >= 0 {
		return q[i+1:]
	}
	return q
}
