package terraform

import (
	"crypto/sha256"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/terraform/plan"
	"github.com/parcelflow/conveyor/config"
)

// Stack is one Terraform root module and the environments it serves.
type Stack struct {
	Path      string            `json:"path"`
	Component string            `json:"component"`
	Owner     string            `json:"owner,omitempty"`
	Envs      []string          `json:"environments"`
	VarFiles  map[string]string `json:"var_files,omitempty"`
	// Modules are the local modules the stack calls, checked with it.
	Modules   []string `json:"modules,omitempty"`
	Resources int      `json:"resources"`
	Findings  int      `json:"findings"`
}

// Stacks returns the stacks of the repo's terraform components: those the
// config declares, or, for a component that declares none, every folder of
// .tf files under its paths that is not a module.
func Stacks(cfg *config.RepoConfig, tree checks.Tree) []Stack {
	var out []Stack
	for _, c := range cfg.ComponentsOfKind(config.KindTerraform) {
		if len(c.Stacks) > 0 {
			for _, st := range c.Stacks {
				s := Stack{Path: path.Clean(st.Path), Component: c.Name, Owner: c.Owner, Envs: st.Environments(cfg), VarFiles: map[string]string{}}
				for env, f := range st.VarFiles {
					s.VarFiles[env] = f
				}
				out = append(out, s)
			}
			continue
		}
		dirs := map[string]bool{}
		for _, f := range tree.Files() {
			if isConfigFile(f) && c.Matches(f) && !strings.Contains("/"+path.Dir(f)+"/", "/modules/") {
				dirs[path.Dir(f)] = true
			}
		}
		for _, d := range sortedSet(dirs) {
			out = append(out, Stack{Path: d, Component: c.Name, Owner: c.Owner})
		}
	}
	return out
}

// Analysis is the static policy's verdict on a set of stacks.
type Analysis struct {
	Stacks   []Stack
	Findings []Finding
}

// Analyze runs every static rule on stacks in tree with the repo's settings.
// Rules turned off, or ignored for a path, produce nothing; severities follow
// the settings.
func Analyze(tree checks.Tree, cfg *config.RepoConfig, stacks []Stack) Analysis {
	settings := cfg.Checks.Terraform
	accounts := map[string][]string{}
	for _, e := range cfg.Environments {
		if e.AWSAccountID != "" {
			accounts[e.AWSAccountID] = append(accounts[e.AWSAccountID], e.Name)
		}
	}
	a := Analysis{}
	seen := map[string]bool{}
	add := func(stack string, fs []Finding) int {
		n := 0
		for _, f := range fs {
			if !settings.RuleOn(f.Rule, f.Path) {
				continue
			}
			f.Stack = stack
			f.Severity = settings.Severity(f.Rule, defaultSeverity(f.Rule))
			key := f.Rule + "\x00" + f.Path + "\x00" + strconv.Itoa(f.Line) + "\x00" + f.Message
			if seen[key] {
				continue
			}
			seen[key] = true
			a.Findings = append(a.Findings, f)
			n++
		}
		return n
	}
	for _, st := range stacks {
		m := loadModule(st.Path, readAll(tree, moduleFiles(tree, st.Path)))
		st.Resources = len(m.resources)
		var fs []Finding
		fs = append(fs, syntaxFindings(m.diags)...)
		varFiles := map[string]*source{}
		varFileEnv := map[string]string{}
		for _, env := range sortedKeys(st.VarFiles) {
			p := st.VarFiles[env]
			data, err := tree.ReadFile(p)
			if err != nil {
				fs = append(fs, atLine(RuleSyntax, config.RepoConfigPath, 1, "stack "+st.Path+": var file "+p+" for "+env+" does not exist"))
				continue
			}
			s, diags := parseFile(p, data)
			fs = append(fs, syntaxFindings(diags)...)
			varFiles[env] = s
			varFileEnv[p] = env
		}
		// Local modules are checked with the stack that calls them. Their
		// variables are unknown here, so what they hard-code is what is
		// judged: it holds in every stack that calls them.
		mods := localModules(tree, m)
		for _, lm := range mods {
			if lm.first {
				st.Modules = append(st.Modules, lm.dir)
				st.Resources += len(lm.m.resources)
			}
		}
		se := stackEnv{served: st.Envs, accounts: accounts}
		envs := st.Envs
		if len(envs) == 0 {
			envs = []string{""}
		}
		for _, env := range envs {
			ev := newEvaluator(m, tfvarsOf(varFiles[env]))
			fs = append(fs, iamRules(m, ev)...)
			fs = append(fs, networkRules(m, ev)...)
			fs = append(fs, dataStoreRules(m, ev)...)
			// A module's resources take their default tags from the
			// provider the caller hands it, as configured for this env.
			defaults := map[*localModule]providerTags{}
			rootTags := defaultTags(m, ev, nil)
			fs = append(fs, tagRules(m, ev, settings.Tags(), rootTags)...)
			for _, lm := range mods {
				inherited := rootTags
				if lm.parent != nil {
					inherited = defaults[lm.parent]
				}
				defaults[lm] = defaultTags(lm.m, lm.ev, lm.call.inherit(inherited))
				fs = append(fs, tagRules(lm.m, lm.ev, settings.Tags(), defaults[lm])...)
			}
		}
		all := append([]*source{}, m.files...)
		for _, env := range sortedKeys(varFiles) {
			all = append(all, varFiles[env])
		}
		fs = append(fs, secretRules(all)...)
		fs = append(fs, accountRules(all, varFileEnv, se)...)
		fs = append(fs, moduleRules(m)...)
		for _, lm := range mods {
			if !lm.first {
				continue
			}
			fs = append(fs, syntaxFindings(lm.m.diags)...)
			fs = append(fs, iamRules(lm.m, lm.ev)...)
			fs = append(fs, networkRules(lm.m, lm.ev)...)
			fs = append(fs, dataStoreRules(lm.m, lm.ev)...)
			fs = append(fs, secretRules(lm.m.files)...)
			fs = append(fs, moduleRules(lm.m)...)
			// A module's files belong to no environment of their own: an
			// account they name is judged against the calling stack's.
			for _, f := range accountRules(lm.m.files, nil, se) {
				f.Message += fmt.Sprintf(" (module %s, called from stack %s)", lm.dir, st.Path)
				fs = append(fs, f)
			}
		}
		st.Findings = add(st.Path, fs)
		a.Stacks = append(a.Stacks, st)
	}
	sort.SliceStable(a.Findings, func(i, j int) bool {
		x, y := a.Findings[i], a.Findings[j]
		if x.Path != y.Path {
			return x.Path < y.Path
		}
		if x.Line != y.Line {
			return x.Line < y.Line
		}
		return x.Rule < y.Rule
	})
	return a
}

// localModule is one call of a local module reached from a stack. A module
// called from several places appears once per call path, since the provider
// it is handed (and so its default tags) can differ; its files are parsed once.
type localModule struct {
	dir string
	m   *module
	ev  *evaluator
	// first is set on the first call of dir: the rules that do not depend on
	// the caller run on it only.
	first bool
	// parent is the call this one is made from; nil for a call from the root.
	parent *localModule
	call   moduleCall
}

// maxModuleCalls bounds the call paths followed from one stack, so modules
// that call each other in diamonds cannot blow up the analysis. Past it,
// only modules not yet loaded are followed: every module is still checked
// once, and only the per-caller tag check of further repeats is skipped.
const maxModuleCalls = 256

// localModules returns the calls of local modules the root module makes,
// directly or through other local modules, callers before callees.
func localModules(tree checks.Tree, root *module) []*localModule {
	var out []*localModule
	loaded := map[string]*localModule{}
	type item struct {
		call   moduleCall
		parent *localModule
	}
	var queue []item
	for _, c := range root.localModuleCalls() {
		queue = append(queue, item{c, nil})
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if _, seen := loaded[it.call.dir]; seen && len(out) >= maxModuleCalls {
			continue
		}
		if it.call.dir == root.dir || it.parent.calledFrom(it.call.dir) {
			continue // a loop: Terraform refuses it, and so no rule needs it
		}
		lm := &localModule{dir: it.call.dir, parent: it.parent, call: it.call}
		if prev, ok := loaded[it.call.dir]; ok {
			lm.m, lm.ev = prev.m, prev.ev
		} else {
			files := moduleFiles(tree, it.call.dir)
			if len(files) == 0 {
				continue
			}
			lm.m = loadModule(it.call.dir, readAll(tree, files))
			lm.ev, lm.first = newEvaluator(lm.m, nil), true
			loaded[it.call.dir] = lm
		}
		out = append(out, lm)
		for _, c := range lm.m.localModuleCalls() {
			queue = append(queue, item{c, lm})
		}
	}
	return out
}

// calledFrom reports whether dir is lm's module or one of its callers'.
func (lm *localModule) calledFrom(dir string) bool {
	for c := lm; c != nil; c = c.parent {
		if c.dir == dir {
			return true
		}
	}
	return false
}

func tfvarsOf(s *source) map[string]hclsyntax.Expression {
	if s == nil || s.body == nil {
		return nil
	}
	out := map[string]hclsyntax.Expression{}
	for name, a := range s.body.Attributes {
		out[name] = a.Expr
	}
	return out
}

func readAll(tree checks.Tree, paths []string) map[string][]byte {
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		if data, err := tree.ReadFile(p); err == nil {
			out[p] = data
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ResourceChange is a resource block added, edited or removed by the change,
// found by comparing the HCL of base and head (no plan needed).
type ResourceChange struct {
	Address  string        `json:"address"`
	Stack    string        `json:"stack"`
	Path     string        `json:"path"`
	Status   string        `json:"status"` // added | modified | removed
	Category plan.Category `json:"category,omitempty"`
}

// DiffResources compares the resource blocks of a stack (and its local
// modules) between base and head.
func DiffResources(base, head checks.Tree, st Stack) []ResourceChange {
	dirs := append([]string{st.Path}, st.Modules...)
	blocks := func(t checks.Tree) map[string]blockInfo {
		out := map[string]blockInfo{}
		if t == nil {
			return out
		}
		for _, d := range dirs {
			m := loadModule(d, readAll(t, moduleFiles(t, d)))
			src := map[string][]byte{}
			for _, f := range m.files {
				src[f.path] = f.src
			}
			for _, r := range m.resources {
				rng := r.block.Range()
				body := src[r.file]
				if rng.End.Byte > len(body) || rng.Start.Byte > rng.End.Byte {
					continue
				}
				addr := r.addr()
				if d != st.Path {
					addr = "module(" + d + ")." + addr
				}
				out[addr] = blockInfo{typ: r.typ, path: r.file, sum: sha256.Sum256(body[rng.Start.Byte:rng.End.Byte])}
			}
		}
		return out
	}
	b, h := blocks(base), blocks(head)
	var out []ResourceChange
	for _, addr := range sortedKeys(h) {
		hi := h[addr]
		bi, ok := b[addr]
		switch {
		case !ok:
			out = append(out, ResourceChange{Address: addr, Stack: st.Path, Path: hi.path, Status: "added", Category: categoryOf(hi.typ)})
		case bi.sum != hi.sum:
			out = append(out, ResourceChange{Address: addr, Stack: st.Path, Path: hi.path, Status: "modified", Category: categoryOf(hi.typ)})
		}
	}
	for _, addr := range sortedKeys(b) {
		if _, ok := h[addr]; !ok {
			out = append(out, ResourceChange{Address: addr, Stack: st.Path, Path: b[addr].path, Status: "removed", Category: categoryOf(b[addr].typ)})
		}
	}
	return out
}

type blockInfo struct {
	typ  string
	path string
	sum  [32]byte
}

func categoryOf(typ string) plan.Category {
	if typ == "aws_iam_policy_document" {
		return plan.CategoryIAM
	}
	return plan.CategoryOf(typ)
}
