package policy

import (
	"bytes"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// policy decides and never does I/O: given inputs it returns a decision. These
// tests keep it that way as the package grows, by what it may link and import.

const module = "github.com/parcelflow/conveyor"

// forbiddenDep reports why a package policy depends on, directly or not,
// would let it reach the network, a database, GitHub or AWS, or another room
// of Conveyor; "" when it is fine.
func forbiddenDep(path string) string {
	switch {
	case path == "net/http" || strings.HasPrefix(path, "net/http/"):
		return "an HTTP client or server"
	case path == "database/sql" || strings.HasPrefix(path, "database/sql/"):
		return "a database"
	case strings.HasPrefix(path, "github.com/google/go-github"):
		return "the GitHub client"
	case strings.HasPrefix(path, "github.com/aws/"):
		return "the AWS SDK"
	case path == module+"/policy" || path == module+"/config":
		return ""
	case path == module || strings.HasPrefix(path, module+"/"):
		return "another Conveyor package (policy may read only config)"
	}
	return ""
}

func TestForbiddenDep(t *testing.T) {
	for path, forbidden := range map[string]bool{
		"net/http": true, "net/http/httptrace": true, "database/sql": true, "database/sql/driver": true,
		"github.com/google/go-github/v74/github": true, "github.com/aws/aws-sdk-go-v2/service/s3": true,
		module + "/store": true, module + "/checks": true, module + "/deploy/release": true,
		module + "/config": false, module + "/policy": false, "net/url": false, "strings": false, "gopkg.in/yaml.v3": false,
		"github.com/parcelflow/conveyorx": false,
	} {
		if got := forbiddenDep(path) != ""; got != forbidden {
			t.Errorf("forbiddenDep(%q) = %v, want %v", path, got, forbidden)
		}
	}
}

func TestPolicyDependsOnNoIO(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH:", err)
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", ".")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, stderr.String())
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != module+"/policy" {
		t.Fatalf("go list -deps listed %v, not policy's dependencies", deps)
	}
	for _, d := range deps {
		if why := forbiddenDep(d); why != "" {
			t.Errorf("policy depends on %s: %s", d, why)
		}
	}
}

func TestPolicyFilesImportNoIO(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]bool{"net": true, "net/http": true, "os/exec": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue // tests may read fixtures and run the go tool
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[path] || forbiddenDep(path) != "" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no policy source files found")
	}
}
