package githubemu

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-github/v74/github"
)

func TestCommitBuildsGitObjects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	head := f.repo.Branch("main")

	c := must[*github.RepositoryCommit](t)(f.gh.Repositories.GetCommit(ctx, "parcelflow", "data-platform", "main", nil))
	if c.GetSHA() != head || len(c.Files) != 4 || c.Files[0].GetStatus() != "added" {
		t.Fatalf("commit = %s with %d files", c.GetSHA(), len(c.Files))
	}

	tree := must[*github.Tree](t)(f.gh.Git.GetTree(ctx, "parcelflow", "data-platform", head, true))
	paths := map[string]string{}
	for _, e := range tree.Entries {
		paths[e.GetPath()] = e.GetSHA()
	}
	// git hash-object of "hello\n" — the emulator's SHAs are git's.
	if got := paths["README.md"]; got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("README.md blob = %s", got)
	}
	if _, ok := paths["dags"]; !ok || paths["dags/daily.py"] == "" {
		t.Errorf("recursive tree lacks dags or dags/daily.py: %v", paths)
	}
	flat := must[*github.Tree](t)(f.gh.Git.GetTree(ctx, "parcelflow", "data-platform", head, false))
	if len(flat.Entries) != 4 { // README.md, contracts, dags, models
		t.Errorf("top-level entries = %d, want 4", len(flat.Entries))
	}

	blob := must[[]byte](t)(f.gh.Git.GetBlobRaw(ctx, "parcelflow", "data-platform", paths["dags/daily.py"]))
	if string(blob) != "import airflow\n" {
		t.Errorf("blob = %q", blob)
	}

	second := f.repo.Commit("main", map[string]string{"README.md": Delete, "empty.py": ""}, "second", "bob")
	c2 := must[*github.RepositoryCommit](t)(f.gh.Repositories.GetCommit(ctx, "parcelflow", "data-platform", second, nil))
	if len(c2.Parents) != 1 || c2.Parents[0].GetSHA() != head {
		t.Errorf("parent chain broken: %v", c2.Parents)
	}
	statuses := map[string]string{}
	for _, fl := range c2.Files {
		statuses[fl.GetFilename()] = fl.GetStatus()
	}
	if statuses["README.md"] != "removed" || statuses["empty.py"] != "added" {
		t.Errorf("statuses = %v", statuses)
	}
}

func TestContents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.repo.Commit("feature", map[string]string{"dags/daily.py": "import airflow  # v2\n"}, "edit", "bob")

	tests := []struct {
		name, path, ref string
		wantFile        string
		wantDir         int
		wantStatus      int
	}{
		{"file on default branch", "dags/daily.py", "", "import airflow\n", 0, 200},
		{"file at branch", "dags/daily.py", "feature", "import airflow  # v2\n", 0, 200},
		{"directory", "dags", "", "", 1, 200},
		{"root", "", "", "", 4, 200},
		{"missing", "nope.txt", "", "", 0, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file, dir, resp, err := f.gh.Repositories.GetContents(ctx, "parcelflow", "data-platform", tc.path, &github.RepositoryContentGetOptions{Ref: tc.ref})
			if tc.wantStatus != 200 {
				if resp == nil || resp.StatusCode != tc.wantStatus {
					t.Fatalf("err = %v, want %d", err, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantFile != "" {
				got, err := file.GetContent()
				if err != nil || got != tc.wantFile {
					t.Errorf("content = %q, %v", got, err)
				}
				return
			}
			if len(dir) != tc.wantDir {
				t.Errorf("dir entries = %d, want %d", len(dir), tc.wantDir)
			}
		})
	}

	rc, _, err := f.gh.Repositories.DownloadContents(ctx, "parcelflow", "data-platform", "models/orders.sql", nil)
	if err != nil {
		t.Fatalf("download contents: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "select 1\n" {
		t.Errorf("downloaded %q", b)
	}
}

func TestTarballRedirectsToGitHubLayout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha := f.repo.Branch("main")
	u, _, err := f.gh.Repositories.GetArchiveLink(ctx, "parcelflow", "data-platform", github.Tarball, &github.RepositoryContentGetOptions{Ref: "main"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[h.Name] = string(b)
		}
	}
	top := "parcelflow-data-platform-" + sha[:7] + "/"
	if files[top+"dags/daily.py"] != "import airflow\n" || len(files) != 4 {
		t.Errorf("tarball files = %v", files)
	}

	bad := strings.Replace(u.String(), "token=", "token=x", 1)
	resp2, err := http.Get(bad)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 404 {
		t.Errorf("bad download token status = %d", resp2.StatusCode)
	}
}

func TestCompareAndPullFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.repo.Commit("feature", map[string]string{
		"models/orders.sql":    "select 1\nunion all\nselect 2\n",
		"dags/daily.py":        Delete,
		"dags/renamed.py":      "import airflow\n",
		"README.md":            Delete,
		"docs/new.md":          "new\n",
		"contracts/orders.yml": "name: orders\nowner: data\n",
	}, "feature work", "bob")
	// main moves on after the branch point; its change must not show in the PR diff.
	f.repo.Commit("main", map[string]string{"other.txt": "x"}, "main moves", "alice")

	cmp := must[*github.CommitsComparison](t)(f.gh.Repositories.CompareCommits(ctx, "parcelflow", "data-platform", "main", "feature", nil))
	if cmp.GetStatus() != "diverged" || cmp.GetAheadBy() != 1 || cmp.GetBehindBy() != 1 {
		t.Errorf("status %s ahead %d behind %d", cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy())
	}
	got := map[string]string{}
	for _, fl := range cmp.Files {
		got[fl.GetFilename()] = fl.GetStatus() + ":" + fl.GetPreviousFilename()
	}
	want := map[string]string{
		"models/orders.sql": "modified:", "dags/renamed.py": "renamed:dags/daily.py", "README.md": "removed:",
		"docs/new.md": "added:", "contracts/orders.yml": "modified:",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("files = %v", got)
	}
	if cmp.MergeBaseCommit.GetSHA() == "" {
		t.Error("no merge_base_commit")
	}
	for _, fl := range cmp.Files {
		if fl.GetFilename() == "models/orders.sql" {
			if fl.GetAdditions() != 2 || fl.GetDeletions() != 0 || !strings.Contains(fl.GetPatch(), "+union all") {
				t.Errorf("patch stats +%d -%d patch %q", fl.GetAdditions(), fl.GetDeletions(), fl.GetPatch())
			}
		}
	}
}

func TestPullFilesPagination(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	files := map[string]string{}
	for i := range 75 {
		files["models/m"+strconv.Itoa(i)+".sql"] = "select 1\n"
	}
	f.repo.Commit("many", files, "many", "bob")
	pr := f.repo.OpenPullRequest(PROptions{Head: "many", Author: "bob"})

	tests := []struct {
		name      string
		perPage   int
		wantPages int
	}{
		{"default 30", 0, 3},
		{"100 per page", 100, 1},
		{"over max is capped", 500, 1},
		{"10 per page", 10, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := &github.ListOptions{PerPage: tc.perPage}
			var all []*github.CommitFile
			pages := 0
			for {
				page, resp, err := f.gh.PullRequests.ListFiles(ctx, "parcelflow", "data-platform", pr.Number, opt)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				all = append(all, page...)
				if resp.NextPage == 0 {
					break
				}
				opt.Page = resp.NextPage
			}
			if len(all) != 75 || pages != tc.wantPages {
				t.Errorf("got %d files in %d pages, want 75 in %d", len(all), pages, tc.wantPages)
			}
		})
	}
}

func TestRefsAndBranches(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.repo.Commit("feature/x", map[string]string{"a": "b"}, "x", "bob")
	ref := must[*github.Reference](t)(f.gh.Git.GetRef(ctx, "parcelflow", "data-platform", "heads/feature/x"))
	if ref.GetObject().GetSHA() != f.repo.Branch("feature/x") {
		t.Errorf("ref sha = %s", ref.GetObject().GetSHA())
	}
	br := must[*github.Branch](t)(f.gh.Repositories.GetBranch(ctx, "parcelflow", "data-platform", "feature/x", 0))
	if br.GetCommit().GetSHA() != f.repo.Branch("feature/x") {
		t.Errorf("branch sha = %s", br.GetCommit().GetSHA())
	}
	c := must[*github.RepositoryCommit](t)(f.gh.Repositories.GetCommit(ctx, "parcelflow", "data-platform", "feature/x", nil))
	if c.GetSHA() != f.repo.Branch("feature/x") {
		t.Errorf("commit for slashed branch = %s", c.GetSHA())
	}
	bs := must[[]*github.Branch](t)(f.gh.Repositories.ListBranches(ctx, "parcelflow", "data-platform", nil))
	if len(bs) != 2 {
		t.Errorf("branches = %d", len(bs))
	}
	if _, resp, _ := f.gh.Git.GetRef(ctx, "parcelflow", "data-platform", "heads/nope"); resp == nil || resp.StatusCode != 404 {
		t.Errorf("missing ref not 404")
	}
}
