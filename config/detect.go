package config

import (
	"bytes"
	"path"
	"regexp"
	"sort"
	"strings"
)

// ReadFunc returns a file's content from the tree being looked at.
type ReadFunc func(path string) ([]byte, error)

var (
	dagPattern      = regexp.MustCompile(`(?m)(\bDAG\s*\(|@dag\b|\bdag\s*\()`)
	airflowImport   = regexp.MustCompile(`(?m)^\s*(from|import)\s+airflow\b`)
	contractPattern = regexp.MustCompile(`(?m)^kind:\s*["']?DataContract["']?\s*$`)
)

// Detect builds a config for a repo without `.conveyor.yml` by looking at its
// files: Python files that define Airflow DAGs, every folder holding a
// dbt_project.yml, folders of .tf files, and ODCS contract YAML. The result is
// marked Detected so outputs can say the components were inferred.
func Detect(files []string, read ReadFunc) *RepoConfig {
	cfg := &RepoConfig{Version: 1, Detected: true}
	var dagDirs, tfDirs, contractFiles, dbtProjects []string
	seen := map[string]bool{}
	addOnce := func(list *[]string, v string) {
		if !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, f := range files {
		if ignoredForDetection(f) {
			continue
		}
		dir := path.Dir(f)
		switch {
		case path.Base(f) == "dbt_project.yml":
			addOnce(&dbtProjects, "dbt:"+dir)
		case strings.HasSuffix(f, ".tf"):
			addOnce(&tfDirs, "tf:"+dir)
		case strings.HasSuffix(f, ".py"):
			data, err := read(f)
			if err == nil && airflowImport.Match(data) && dagPattern.Match(data) {
				addOnce(&dagDirs, "dag:"+topDir(f))
			}
		case strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml"):
			data, err := read(f)
			if err == nil && contractPattern.Match(data) && bytes.Contains(data, []byte("apiVersion")) {
				contractFiles = append(contractFiles, f)
			}
		}
	}
	strip := func(list []string) []string {
		out := make([]string, len(list))
		for i, v := range list {
			out[i] = v[strings.Index(v, ":")+1:]
		}
		sort.Strings(out)
		return out
	}
	if dirs := strip(dagDirs); len(dirs) > 0 {
		cfg.Components = append(cfg.Components, Component{Name: "airflow", Kind: KindAirflow, Paths: globsUnder(dirs, "**/*.py")})
	}
	for _, dir := range strip(dbtProjects) {
		name := "dbt"
		if dir != "." {
			name = "dbt-" + path.Base(dir)
		}
		cfg.Components = append(cfg.Components, Component{Name: name, Kind: KindDbt, Paths: globsUnder([]string{dir}, "**"), Project: strings.TrimPrefix(dir, ".")})
	}
	if len(contractFiles) > 0 {
		sort.Strings(contractFiles)
		cfg.Components = append(cfg.Components, Component{Name: "contracts", Kind: KindContracts, Paths: contractFiles})
	}
	if dirs := strip(tfDirs); len(dirs) > 0 {
		c := Component{Name: "terraform", Kind: KindTerraform, Paths: globsUnder(rootsOf(dirs), "**")}
		for _, d := range dirs {
			if !strings.Contains("/"+d+"/", "/modules/") {
				c.Stacks = append(c.Stacks, TerraformStack{Path: d})
			}
		}
		cfg.Components = append(cfg.Components, c)
	}
	applyRepoDefaults(cfg)
	return cfg
}

func ignoredForDetection(f string) bool {
	for _, part := range strings.Split(f, "/") {
		switch part {
		case ".git", "node_modules", ".terraform", "target", "dbt_packages", "__pycache__", ".venv", "venv":
			return true
		}
	}
	return false
}

func topDir(f string) string {
	if i := strings.Index(f, "/"); i > 0 {
		return f[:i]
	}
	return "."
}

func globsUnder(dirs []string, suffix string) []string {
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if d == "." || d == "" {
			out = append(out, suffix)
			continue
		}
		out = append(out, d+"/"+suffix)
	}
	return out
}

// rootsOf drops folders nested inside another listed folder.
func rootsOf(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		nested := false
		for _, o := range dirs {
			if o != d && (o == "." || strings.HasPrefix(d, o+"/")) {
				nested = true
				break
			}
		}
		if !nested {
			out = append(out, d)
		}
	}
	return out
}
