package airflow

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// compileScript reports, per file, whether CPython's compiler (what
// py_compile runs) accepts it, and the line of the error when not.
const compileScript = `
import sys
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as f:
            compile(f.read(), path, "exec", dont_inherit=True)
        print(path + "\tok\t0")
    except (SyntaxError, ValueError) as e:
        print(path + "\terr\t" + str(getattr(e, "lineno", 0) or 0))
`

// pythonVerdicts runs python3 over files; the test is skipped without python3.
func pythonVerdicts(t testing.TB, files []string) map[string]int {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed; the syntax check is compared against CPython only where it exists")
	}
	out, err := exec.Command(py, append([]string{"-c", compileScript}, files...)...).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	verdicts := map[string]int{} // 0 ok, else error line (or -1 when unknown)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			continue
		}
		line, _ := strconv.Atoi(parts[2])
		if parts[1] == "err" && line == 0 {
			line = -1
		}
		verdicts[parts[0]] = line
	}
	return verdicts
}

func pyFixtures(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, root := range []string{"../../testdata/airflow", "../../testdata/sample-repo/dags"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".py") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	return files
}

// TestSyntaxMatchesCPython: every file CPython rejects has a syntax finding,
// on the same line, and no file it accepts has one.
func TestSyntaxMatchesCPython(t *testing.T) {
	files := pyFixtures(t)
	verdicts := pythonVerdicts(t, files)
	bad := 0
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "../../testdata/"), func(t *testing.T) {
			want, ok := verdicts[f]
			if !ok {
				t.Fatalf("python3 gave no verdict for %s", f)
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := ParseFile(f, src)
			var syn []Finding
			for _, x := range res.Findings {
				if x.Rule == RuleSyntax {
					syn = append(syn, x)
				}
			}
			switch {
			case want == 0 && len(syn) > 0:
				t.Errorf("CPython accepts the file, the analyzer reports %s", syn[0].Message)
			case want != 0 && len(syn) == 0:
				t.Errorf("CPython rejects the file (line %d), the analyzer reports no syntax error", want)
			case want > 0 && syn[0].Line != want:
				t.Errorf("syntax error at line %d, CPython says line %d (%s)", syn[0].Line, want, syn[0].Message)
			}
			if res.SyntaxOK != (len(syn) == 0) {
				t.Errorf("SyntaxOK = %v with %d syntax findings", res.SyntaxOK, len(syn))
			}
		})
		if verdicts[f] != 0 {
			bad++
		}
	}
	if bad < 10 {
		t.Errorf("only %d broken fixtures; the comparison needs the deliberately broken ones", bad)
	}
}
