package policy

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestCodeownersGitHubExample runs GitHub's documented example file as a
// whole: every later rule can override an earlier one.
func TestCodeownersGitHubExample(t *testing.T) {
	data, err := os.ReadFile("testdata/CODEOWNERS.github-example")
	if err != nil {
		t.Fatal(err)
	}
	co, errs := ParseCodeowners(".github/CODEOWNERS", data)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	tests := []struct {
		path string
		want []string
	}{
		{"README.md", []string{"@global-owner1", "@global-owner2"}},
		{"src/app.js", []string{"@js-owner"}},
		{"cmd/main.go", []string{"docs@example.com"}},
		{"notes/todo.txt", []string{"@octo-org/octocats"}},
		{"build/logs/today.log", []string{"@octocat"}}, // **/logs comes after /build/logs/
		{"docs/getting-started.md", []string{"@doctocat"}},
		{"docs/build-app/troubleshooting.md", []string{"@doctocat"}},
		{"web/apps/index.html", []string{"@octocat"}},
		{"scripts/deploy.sh", []string{"@doctocat", "@octocat"}},
		{"scripts/logs/run.txt", []string{"@octocat"}},
		{"deeply/nested/logs/x.md", []string{"@octocat"}},
		{"apps/other/main.go", []string{"@octocat"}},
		{"apps/github/main.go", []string{"@doctocat"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := co.Owners(tt.path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Owners(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// TestCodeownersPatterns checks each documented pattern on its own.
func TestCodeownersPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"*", "README.md", true},
		{"*", "a/b/c.py", true},
		{"*.js", "app.js", true},
		{"*.js", "web/src/app.js", true},
		{"*.js", "app.jsx", false},
		{"*.JS", "app.js", false}, // case-sensitive
		{"/build/logs/", "build/logs/a.log", true},
		{"/build/logs/", "build/logs/deep/a.log", true},
		{"/build/logs/", "x/build/logs/a.log", false},
		{"/build/logs/", "build/logs", false}, // trailing slash: a directory, not a file
		{"docs/*", "docs/getting-started.md", true},
		{"docs/*", "docs/build-app/troubleshooting.md", false},
		{"docs/*", "src/docs/a.md", false}, // an inner slash anchors
		{"apps/", "apps/a.go", true},
		{"apps/", "web/apps/a.go", true},
		{"apps/", "apps", false},
		{"/docs/", "docs/a/b/c.md", true},
		{"**/logs", "logs/a", true},
		{"**/logs", "build/logs/a", true},
		{"**/logs", "deeply/nested/logs/x", true},
		{"**/logs", "catalogs/a", false},
		{"foo/**", "foo/a", true},
		{"foo/**", "foo/b/c", true},
		{"foo/**", "foo", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"docs/**/*.md", "docs/x/y/a.md", true},
		{"docs/**/*.md", "docs/a.md", true},
		{"docs/**/*.md", "docs/a.txt", false},
		{"/*.md", "README.md", true},
		{"/*.md", "docs/README.md", false},
		{"dags", "dags/x.py", true},
		{"dags", "team/dags/x.py", true},
		{"/dags", "team/dags/x.py", false},
		{"a?.txt", "ab.txt", true},
		{"a?.txt", "a/.txt", false},
		{`\#notes`, "#notes", true},
		{"/", "anything/at/all", true},
		{"infra/**/*.tf", "infra/platform/main.tf", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			co, errs := ParseCodeowners("CODEOWNERS", []byte(tt.pattern+" @owner"))
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if got := co.Owners(tt.path) != nil; got != tt.want {
				t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
			}
		})
	}
}

func TestCodeownersUnowns(t *testing.T) {
	co, errs := ParseCodeowners("CODEOWNERS", []byte("/apps/ @octocat\n/apps/github\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := co.Owners("apps/github/x"); got != nil {
		t.Errorf("owner-less rule should un-own, got %v", got)
	}
	r, ok := co.Match("apps/github/x")
	if !ok || r.Line != 2 {
		t.Errorf("Match = %+v, %v; want line 2", r, ok)
	}
	if got := co.Owners("apps/x"); !reflect.DeepEqual(got, []string{"@octocat"}) {
		t.Errorf("got %v", got)
	}
}

func TestCodeownersErrors(t *testing.T) {
	src := strings.Join([]string{
		"* @ok",            // 1
		"!secret @x",       // 2 negation
		"[ab].txt @x",      // 3 range
		"*.go notanowner",  // 4
		"*.py @org/",       // 5
		"*.rb a@b",         // 6 email without a dot in the domain
		"*.md @good @-bad", // 7
		`trailing\`,        // 8
		"*.sql @org/team",  // 9 fine
	}, "\n")
	co, errs := ParseCodeowners(".github/CODEOWNERS", []byte(src))
	var lines []int
	for _, e := range errs {
		if e.File != ".github/CODEOWNERS" || e.Msg == "" || e.Column < 1 {
			t.Errorf("badly located error: %+v", e)
		}
		lines = append(lines, e.Line)
	}
	if want := []int{2, 3, 4, 5, 6, 7, 8}; !reflect.DeepEqual(lines, want) {
		t.Errorf("error lines = %v, want %v (%v)", lines, want, errs)
	}
	if len(co.Rules) != 2 || co.Rules[0].Line != 1 || co.Rules[1].Line != 9 {
		t.Errorf("kept rules = %+v, want lines 1 and 9", co.Rules)
	}
	if got := co.Owners("x.md"); !reflect.DeepEqual(got, []string{"@ok"}) {
		t.Errorf("an invalid line must not take effect: %v", got)
	}
}

func TestCodeownersSampleRepo(t *testing.T) {
	data, err := os.ReadFile("../testdata/sample-repo/.github/CODEOWNERS")
	if err != nil {
		t.Fatal(err)
	}
	co, errs := ParseCodeowners(".github/CODEOWNERS", data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for path, want := range map[string][]string{
		"dags/orders.py":           {"@parcelflow/data-eng"},
		"infra/platform/main.tf":   {"@parcelflow/devops"},
		".github/workflows/ci.yml": {"@parcelflow/devops"},
		"contracts/orders.yaml":    {"@parcelflow/data-eng", "@parcelflow/data-eng-leads"},
	} {
		if got := co.Owners(path); !reflect.DeepEqual(got, want) {
			t.Errorf("Owners(%q) = %v, want %v", path, got, want)
		}
	}
}

func FuzzParseCodeowners(f *testing.F) {
	if data, err := os.ReadFile("testdata/CODEOWNERS.github-example"); err == nil {
		f.Add(string(data), "docs/a.md")
	}
	f.Add("*.js @a\n/apps/github\n", "apps/github/x.js")
	f.Add(`\#x\ y @o/t`, "#x y")
	f.Add("a/**/b/**/c* @x", "a/q/b/r/cde")
	f.Fuzz(func(t *testing.T, src, path string) {
		co, errs := ParseCodeowners("CODEOWNERS", []byte(src))
		for _, e := range errs {
			if e.Line < 1 || e.Msg == "" {
				t.Fatalf("error without a line or message: %+v", e)
			}
		}
		owners := co.Owners(path)
		if r, ok := co.Match(path); ok {
			if !reflect.DeepEqual(r.Owners, owners) {
				t.Fatalf("Match and Owners disagree: %v vs %v", r.Owners, owners)
			}
		} else if owners != nil {
			t.Fatalf("owners %v without a match", owners)
		}
	})
}
