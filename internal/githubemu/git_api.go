package githubemu

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
)

// lookupRepo finds the repo named in the path, answering 404 if it does not exist.
func (e *Emulator) lookupRepo(w http.ResponseWriter, r *http.Request) (*Repo, bool) {
	e.mu.Lock()
	rp, ok := e.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	e.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return rp, ok
}

// json is GitHub's full repository object. Callers hold e.mu.
func (r *Repo) json() map[string]any {
	e := r.emu
	owner := e.userJSON(r.Owner)
	if strings.EqualFold(r.Owner, e.opts.Account) {
		owner["type"] = "Organization"
	}
	return map[string]any{
		"id": r.ID, "node_id": fmt.Sprintf("R_kgDO%d", r.ID), "name": r.Name, "full_name": r.FullName(),
		"owner": owner, "private": true, "visibility": "private", "fork": false,
		"html_url": e.htmlURL("/%s", r.FullName()), "url": e.apiURL("/repos/%s", r.FullName()),
		"clone_url": e.htmlURL("/%s.git", r.FullName()), "default_branch": r.DefaultBranch,
		"archived": false, "disabled": false,
		"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z", "pushed_at": "2024-01-01T00:00:00Z",
		"permissions": map[string]bool{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
	}
}

// repoRef is the short repository object inside pull request heads and bases.
func (r *Repo) forkJSON(ownerLogin string) map[string]any {
	j := r.json()
	j["id"] = r.ID + 1_000_000
	j["owner"] = r.emu.userJSON(ownerLogin)
	j["full_name"] = ownerLogin + "/" + r.Name
	j["fork"] = true
	j["url"] = r.emu.apiURL("/repos/%s/%s", ownerLogin, r.Name)
	j["html_url"] = r.emu.htmlURL("/%s/%s", ownerLogin, r.Name)
	return j
}

func (e *Emulator) getRepo(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, rp.json())
}

func (r *Repo) gitUserJSON(c *commitObj) map[string]any {
	return map[string]any{"name": c.author, "email": noreplyEmail(c.author), "date": ts(c.time)}
}

func (r *Repo) parentsJSON(c *commitObj) []any {
	out := []any{}
	for _, p := range c.parents {
		out = append(out, map[string]any{"sha": p, "url": r.emu.apiURL("/repos/%s/commits/%s", r.FullName(), p)})
	}
	return out
}

// commitJSON is a "repository commit"; with files it carries the diff to the first parent.
func (r *Repo) commitJSON(c *commitObj, withFiles bool) map[string]any {
	e := r.emu
	j := map[string]any{
		"sha": c.sha, "node_id": "C_" + c.sha[:12],
		"url":      e.apiURL("/repos/%s/commits/%s", r.FullName(), c.sha),
		"html_url": e.htmlURL("/%s/commit/%s", r.FullName(), c.sha),
		"commit": map[string]any{
			"author": r.gitUserJSON(c), "committer": r.gitUserJSON(c), "message": c.message,
			"tree":         map[string]any{"sha": c.tree, "url": e.apiURL("/repos/%s/git/trees/%s", r.FullName(), c.tree)},
			"url":          e.apiURL("/repos/%s/git/commits/%s", r.FullName(), c.sha),
			"verification": map[string]any{"verified": false, "reason": "unsigned"},
		},
		"author": e.userJSON(c.author), "committer": e.userJSON(c.author),
		"parents": r.parentsJSON(c),
	}
	if withFiles {
		parent := ""
		if len(c.parents) > 0 {
			parent = c.parents[0]
		}
		files := r.filesJSON(r.diffTrees(parent, c.sha), c.sha)
		add, del := 0, 0
		for _, f := range files {
			add += f["additions"].(int)
			del += f["deletions"].(int)
		}
		j["files"] = files
		j["stats"] = map[string]int{"additions": add, "deletions": del, "total": add + del}
	}
	return j
}

func (r *Repo) filesJSON(diffs []fileDiff, ref string) []map[string]any {
	e := r.emu
	out := []map[string]any{}
	for _, d := range diffs {
		f := map[string]any{
			"sha": d.sha, "filename": d.filename, "status": d.status,
			"additions": d.additions, "deletions": d.deletions, "changes": d.additions + d.deletions,
			"blob_url":     e.htmlURL("/%s/blob/%s/%s", r.FullName(), ref, d.filename),
			"raw_url":      e.apiURL("/_raw/%s/%s/%s", r.FullName(), ref, d.filename),
			"contents_url": e.apiURL("/repos/%s/contents/%s?ref=%s", r.FullName(), d.filename, ref),
		}
		if d.patch != "" {
			f["patch"] = d.patch
		}
		if d.previous != "" {
			f["previous_filename"] = d.previous
		}
		out = append(out, f)
	}
	return out
}

func (e *Emulator) listCommits(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := r.URL.Query().Get("sha")
	head, ok := rp.resolve(ref)
	if !ok {
		if rp.branches[rp.DefaultBranch] == "" {
			writeError(w, http.StatusConflict, "Git Repository is empty.")
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	cs := rp.commitsBetween("", head)
	slices.Reverse(cs)
	if p := r.URL.Query().Get("path"); p != "" {
		var kept []*commitObj
		for _, c := range cs {
			parent := ""
			if len(c.parents) > 0 {
				parent = c.parents[0]
			}
			for _, d := range rp.diffTrees(parent, c.sha) {
				if d.filename == p || strings.HasPrefix(d.filename, strings.TrimSuffix(p, "/")+"/") {
					kept = append(kept, c)
					break
				}
			}
		}
		cs = kept
	}
	start, end := paginate(w, r, len(cs))
	out := []any{}
	for _, c := range cs[start:end] {
		out = append(out, rp.commitJSON(c, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getCommit(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha, ok := rp.resolveOr422(w, r.PathValue("ref"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, rp.commitJSON(rp.commits[sha], true))
}

func (e *Emulator) getGitCommit(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := rp.commits[r.PathValue("sha")]
	if c == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": c.sha, "node_id": "C_" + c.sha[:12], "url": e.apiURL("/repos/%s/git/commits/%s", rp.FullName(), c.sha),
		"author": rp.gitUserJSON(c), "committer": rp.gitUserJSON(c), "message": c.message,
		"tree":    map[string]any{"sha": c.tree, "url": e.apiURL("/repos/%s/git/trees/%s", rp.FullName(), c.tree)},
		"parents": rp.parentsJSON(c),
	})
}

// getTree accepts a tree SHA or anything resolving to a commit, as GitHub does.
func (e *Emulator) getTree(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha := r.PathValue("sha")
	if _, isTree := rp.trees[sha]; !isTree {
		c, ok := rp.resolve(sha)
		if !ok {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		sha = rp.commits[c].tree
	}
	recursive := r.URL.Query().Get("recursive")
	entries := []any{}
	var walk func(treeSHA, prefix string)
	walk = func(treeSHA, prefix string) {
		for _, t := range rp.trees[treeSHA] {
			ent := map[string]any{"path": prefix + t.name, "mode": t.mode, "type": t.typ, "sha": t.sha}
			if t.typ == "blob" {
				ent["size"] = t.size
				ent["url"] = e.apiURL("/repos/%s/git/blobs/%s", rp.FullName(), t.sha)
			} else {
				ent["url"] = e.apiURL("/repos/%s/git/trees/%s", rp.FullName(), t.sha)
			}
			entries = append(entries, ent)
			if t.typ == "tree" && recursive != "" && recursive != "0" && recursive != "false" {
				walk(t.sha, prefix+t.name+"/")
			}
		}
	}
	walk(sha, "")
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": sha, "url": e.apiURL("/repos/%s/git/trees/%s", rp.FullName(), sha), "tree": entries, "truncated": false,
	})
}

// base64Lines encodes like GitHub's blob and contents API: base64 with a newline every 60
// characters, which Go's decoder skips.
func base64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(s) > 60 {
		sb.WriteString(s[:60])
		sb.WriteByte('\n')
		s = s[60:]
	}
	sb.WriteString(s)
	sb.WriteByte('\n')
	return sb.String()
}

// wantsRaw reports the raw media type (application/vnd.github.raw or .v3.raw), which makes
// GitHub answer blobs and files with their bytes instead of JSON.
func wantsRaw(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "vnd.github.raw") || strings.Contains(a, "vnd.github.v3.raw")
}

func (e *Emulator) getBlob(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha := r.PathValue("sha")
	b, ok := rp.blobs[sha]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if wantsRaw(r) {
		w.Header().Set("Content-Type", "application/vnd.github.raw")
		_, _ = w.Write(b)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": sha, "node_id": "B_" + sha[:12], "size": len(b), "url": e.apiURL("/repos/%s/git/blobs/%s", rp.FullName(), sha),
		"content": base64Lines(b), "encoding": "base64",
	})
}

func (e *Emulator) getRef(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := strings.TrimPrefix(r.PathValue("ref"), "refs/")
	branch, ok := strings.CutPrefix(ref, "heads/")
	sha := rp.branches[branch]
	if !ok || sha == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ref": "refs/heads/" + branch, "node_id": "REF_" + sha[:12],
		"url":    e.apiURL("/repos/%s/git/refs/heads/%s", rp.FullName(), branch),
		"object": map[string]any{"type": "commit", "sha": sha, "url": e.apiURL("/repos/%s/git/commits/%s", rp.FullName(), sha)},
	})
}

func (e *Emulator) contentEntry(rp *Repo, p, typ, sha string, size int, ref, commit string) map[string]any {
	j := map[string]any{
		"type": typ, "name": path.Base(p), "path": p, "sha": sha, "size": size,
		"url":      e.apiURL("/repos/%s/contents/%s?ref=%s", rp.FullName(), p, ref),
		"git_url":  e.apiURL("/repos/%s/git/%ss/%s", rp.FullName(), map[string]string{"file": "blob", "dir": "tree"}[typ], sha),
		"html_url": e.htmlURL("/%s/blob/%s/%s", rp.FullName(), ref, p),
	}
	if typ == "file" {
		j["download_url"] = e.apiURL("/_raw/%s/%s/%s", rp.FullName(), commit, p)
	} else {
		j["download_url"] = nil
	}
	j["_links"] = map[string]any{"self": j["url"], "git": j["git_url"], "html": j["html_url"]}
	return j
}

// getContents answers a file with its base64 content, a directory with a list of entries,
// and 404 when the path is missing at ref (default branch when ref is absent).
func (e *Emulator) getContents(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = rp.DefaultBranch
	}
	sha, ok := rp.resolve(ref)
	if !ok {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	c := rp.commits[sha]
	p := strings.Trim(r.PathValue("path"), "/")
	if blob, isFile := c.files[p]; isFile && p != "" {
		if wantsRaw(r) {
			w.Header().Set("Content-Type", "application/vnd.github.raw")
			_, _ = w.Write(rp.blobs[blob])
			return
		}
		j := e.contentEntry(rp, p, "file", blob, len(rp.blobs[blob]), ref, sha)
		j["encoding"] = "base64"
		j["content"] = base64Lines(rp.blobs[blob])
		writeJSON(w, http.StatusOK, j)
		return
	}
	treeSHA := c.tree
	if p != "" {
		for _, part := range strings.Split(p, "/") {
			next := ""
			for _, t := range rp.trees[treeSHA] {
				if t.name == part && t.typ == "tree" {
					next = t.sha
				}
			}
			if next == "" {
				writeError(w, http.StatusNotFound, "Not Found")
				return
			}
			treeSHA = next
		}
	}
	out := []any{}
	for _, t := range rp.trees[treeSHA] {
		child := strings.TrimPrefix(p+"/"+t.name, "/")
		if t.typ == "tree" {
			out = append(out, e.contentEntry(rp, child, "dir", t.sha, 0, ref, sha))
		} else {
			out = append(out, e.contentEntry(rp, child, "file", t.sha, t.size, ref, sha))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) downloadRaw(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha, ok := rp.resolve(r.PathValue("sha"))
	blob, found := rp.commits[sha].filesOrNil()[r.PathValue("path")]
	if !ok || !found {
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(rp.blobs[blob])
}

func (c *commitObj) filesOrNil() map[string]string {
	if c == nil {
		return nil
	}
	return c.files
}

// getTarball redirects, like GitHub, to a short-lived download URL on a different path;
// the download needs no Authorization header, only the token in its query.
func (e *Emulator) getTarball(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha, ok := rp.resolve(r.PathValue("ref"))
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	tok := e.downloadToken(rp, sha)
	loc := fmt.Sprintf("%s/_codeload/%s/legacy.tar.gz/%s?token=%s", requestBase(r), rp.FullName(), sha, tok)
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusFound)
}

// downloadToken ties a download URL to repo and commit; it is deterministic per emulator key.
func (e *Emulator) downloadToken(rp *Repo, sha string) string {
	sum := sha256.Sum256(append([]byte(rp.FullName()+"@"+sha+"#"), e.key.N.Bytes()[:16]...))
	return "GHSAT0" + hex.EncodeToString(sum[:12])
}

func (e *Emulator) downloadTarball(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha := r.PathValue("sha")
	c := rp.commits[sha]
	if c == nil || r.URL.Query().Get("token") != e.downloadToken(rp, sha) {
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/x-gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%s-%s-%s.tar.gz", rp.Owner, rp.Name, sha[:7]))
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	top := fmt.Sprintf("%s-%s-%s/", rp.Owner, rp.Name, sha[:7])
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": sha}, Format: tar.FormatPAX})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top, Mode: 0o775, ModTime: c.time})
	var walk func(treeSHA, prefix string)
	walk = func(treeSHA, prefix string) {
		for _, t := range rp.trees[treeSHA] {
			name := prefix + t.name
			if t.typ == "tree" {
				_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o775, ModTime: c.time})
				walk(t.sha, name+"/")
				continue
			}
			b := rp.blobs[t.sha]
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o664, Size: int64(len(b)), ModTime: c.time})
			_, _ = tw.Write(b)
		}
	}
	walk(c.tree, top)
	_ = tw.Close()
	_ = gz.Close()
}

// getCompare serves base...head (three dots: diff from the merge base, as GitHub does;
// two dots are accepted and treated the same).
func (e *Emulator) getCompare(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	bh := r.PathValue("basehead")
	base, head, found := strings.Cut(bh, "...")
	if !found {
		base, head, found = strings.Cut(bh, "..")
	}
	baseSHA, ok1 := rp.resolve(base)
	headSHA, ok2 := rp.resolve(head)
	if !found || !ok1 || !ok2 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	mb := rp.mergeBase(baseSHA, headSHA)
	ahead := rp.commitsBetween(baseSHA, headSHA)
	behind := rp.commitsBetween(headSHA, baseSHA)
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	commits := []any{}
	for _, c := range ahead {
		commits = append(commits, rp.commitJSON(c, false))
	}
	files := rp.filesJSON(rp.diffTrees(mb, headSHA), headSHA)
	if len(files) > 300 {
		files = files[:300]
	}
	j := map[string]any{
		"url":               e.apiURL("/repos/%s/compare/%s", rp.FullName(), bh),
		"html_url":          e.htmlURL("/%s/compare/%s", rp.FullName(), bh),
		"permalink_url":     e.htmlURL("/%s/compare/%s...%s", rp.FullName(), baseSHA[:7], headSHA[:7]),
		"base_commit":       rp.commitJSON(rp.commits[baseSHA], false),
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         len(behind),
		"total_commits":     len(ahead),
		"commits":           commits,
		"files":             files,
		"merge_base_commit": nil,
	}
	if mb != "" {
		j["merge_base_commit"] = rp.commitJSON(rp.commits[mb], false)
	}
	writeJSON(w, http.StatusOK, j)
}

func (r *Repo) branchJSON(name string) map[string]any {
	sha := r.branches[name]
	c := r.commits[sha]
	return map[string]any{
		"name":      name,
		"commit":    r.commitJSON(c, false),
		"protected": name == r.DefaultBranch,
		"_links":    map[string]any{"self": r.emu.apiURL("/repos/%s/branches/%s", r.FullName(), name)},
	}
}

func (e *Emulator) listBranches(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for n := range rp.branches {
		names = append(names, n)
	}
	slices.Sort(names)
	start, end := paginate(w, r, len(names))
	out := []any{}
	for _, n := range names[start:end] {
		b := rp.branchJSON(n)
		b["commit"] = map[string]any{"sha": rp.branches[n], "url": e.apiURL("/repos/%s/commits/%s", rp.FullName(), rp.branches[n])}
		out = append(out, b)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getBranch(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	name := r.PathValue("branch")
	if rp.branches[name] == "" {
		writeError(w, http.StatusNotFound, "Branch not found")
		return
	}
	writeJSON(w, http.StatusOK, rp.branchJSON(name))
}

// resolveOr422 resolves ref to a commit, answering 422 as GitHub does when
// there is none.
func (rp *Repo) resolveOr422(w http.ResponseWriter, ref string) (string, bool) {
	sha, ok := rp.resolve(ref)
	if !ok {
		noCommit(w, ref)
	}
	return sha, ok
}

func noCommit(w http.ResponseWriter, ref string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "No commit found for SHA: " + ref, "documentation_url": docsURL})
}
