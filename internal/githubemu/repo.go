package githubemu

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Delete, as a file's content in Commit, removes the file. An empty string is a real,
// empty file (think __init__.py).
const Delete = "\x00githubemu:delete\x00"

// Repo is a repository: git objects, branches, pull requests, check runs, deployments.
// Change it through its methods, which also send the webhooks GitHub would.
type Repo struct {
	emu           *Emulator
	ID            int64
	Owner         string
	Name          string
	DefaultBranch string

	blobs        map[string][]byte
	trees        map[string][]treeEntry
	commits      map[string]*commitObj
	branches     map[string]string
	pulls        map[int]*PullRequest
	issueSeq     int
	perms        map[string]string
	labels       map[string]*labelRec
	checkRuns    map[int64]*CheckRun
	checkSuites  map[int64]*CheckSuite
	deployments  []*Deployment
	environments map[string]*environment
}

type commitObj struct {
	sha     string
	tree    string
	parents []string
	message string
	author  string
	time    time.Time
	files   map[string]string // path -> blob sha
}

type treeEntry struct {
	name string
	mode string // 100644 or 040000
	typ  string // blob or tree
	sha  string
	size int
}

// FullName is "owner/name".
func (r *Repo) FullName() string { return r.Owner + "/" + r.Name }

// CreateRepo creates an empty repository owned by owner (an org or a user). The default
// branch appears with the first commit to it.
func (e *Emulator) CreateRepo(owner, name, defaultBranch string) *Repo {
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.repos[strings.ToLower(owner+"/"+name)]; ok {
		return r
	}
	e.user(owner)
	r := &Repo{
		emu: e, ID: e.newID(), Owner: owner, Name: name, DefaultBranch: defaultBranch,
		blobs: map[string][]byte{}, trees: map[string][]treeEntry{}, commits: map[string]*commitObj{},
		branches: map[string]string{}, pulls: map[int]*PullRequest{}, perms: map[string]string{},
		labels: map[string]*labelRec{}, checkRuns: map[int64]*CheckRun{}, checkSuites: map[int64]*CheckSuite{},
		environments: map[string]*environment{},
	}
	e.repos[strings.ToLower(r.FullName())] = r
	return r
}

// Repo finds a repository by "owner/name", or nil.
func (e *Emulator) Repo(fullName string) *Repo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.repos[strings.ToLower(fullName)]
}

func (e *Emulator) sortedRepos() []*Repo {
	out := slices.Collect(maps.Values(e.repos))
	slices.SortFunc(out, func(a, b *Repo) int { return int(a.ID - b.ID) })
	return out
}

func gitHash(kind string, content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func (r *Repo) putBlob(content string) string {
	sha := gitHash("blob", []byte(content))
	r.blobs[sha] = []byte(content)
	return sha
}

// buildTree writes real git tree objects for a flat path->blob map and returns the root
// tree's SHA, so SHAs match what git would compute for the same files.
func (r *Repo) buildTree(files map[string]string, prefix string) string {
	children := map[string]bool{}
	var entries []treeEntry
	for p, blob := range files {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		if dir, _, nested := strings.Cut(rest, "/"); nested {
			children[dir] = true
			continue
		}
		entries = append(entries, treeEntry{name: rest, mode: "100644", typ: "blob", sha: blob, size: len(r.blobs[blob])})
	}
	for dir := range children {
		entries = append(entries, treeEntry{name: dir, mode: "040000", typ: "tree", sha: r.buildTree(files, prefix+dir+"/")})
	}
	sortKey := func(t treeEntry) string {
		if t.typ == "tree" {
			return t.name + "/"
		}
		return t.name
	}
	sort.Slice(entries, func(i, j int) bool { return sortKey(entries[i]) < sortKey(entries[j]) })
	var buf []byte
	for _, t := range entries {
		mode := t.mode
		if t.typ == "tree" {
			mode = "40000"
		}
		raw, _ := hex.DecodeString(t.sha)
		buf = append(buf, mode+" "+t.name+"\x00"...)
		buf = append(buf, raw...)
	}
	sha := gitHash("tree", buf)
	r.trees[sha] = entries
	return sha
}

// Commit adds a commit on branch (created from the default branch when new) that applies
// files on top of the branch's tree: content Delete removes a path. It returns the commit
// SHA, a real git SHA of the commit object. Open pull requests whose head is branch move
// to it, and push and pull_request "synchronize" webhooks are sent, as for a git push.
func (r *Repo) Commit(branch string, files map[string]string, message, author string) string {
	e := r.emu
	e.mu.Lock()
	before := r.branches[branch]
	sha := r.commitLocked(branch, files, message, author)
	evs := r.afterPushLocked(branch, before, sha, author)
	e.mu.Unlock()
	e.dispatch(evs...)
	return sha
}

func (r *Repo) commitLocked(branch string, files map[string]string, message, author string, extraParents ...string) string {
	e := r.emu
	parent, ok := r.branches[branch]
	if !ok {
		parent = r.branches[r.DefaultBranch]
	}
	tree := map[string]string{}
	var parents []string
	if parent != "" {
		maps.Copy(tree, r.commits[parent].files)
		parents = append(parents, parent)
	}
	parents = append(parents, extraParents...)
	for p, content := range files {
		p = strings.Trim(p, "/")
		if content == Delete {
			delete(tree, p)
			continue
		}
		tree[p] = r.putBlob(content)
	}
	treeSHA := r.buildTree(tree, "")
	when := e.now().Truncate(time.Second)
	e.user(author)
	var sb strings.Builder
	fmt.Fprintf(&sb, "tree %s\n", treeSHA)
	for _, p := range parents {
		fmt.Fprintf(&sb, "parent %s\n", p)
	}
	ident := fmt.Sprintf("%s <%s> %d +0000", author, noreplyEmail(author), when.Unix())
	fmt.Fprintf(&sb, "author %s\ncommitter %s\n\n%s\n", ident, ident, message)
	sha := gitHash("commit", []byte(sb.String()))
	r.commits[sha] = &commitObj{sha: sha, tree: treeSHA, parents: parents, message: message, author: author, time: when, files: tree}
	r.branches[branch] = sha
	for _, pr := range r.pulls {
		if pr.state == "open" && pr.HeadRef == branch {
			pr.headSHA = sha
			pr.updatedAt = when
		}
		if pr.state == "open" && pr.BaseRef == branch {
			pr.baseSHA = sha
		}
	}
	return sha
}

func noreplyEmail(login string) string {
	return strings.TrimSuffix(login, "[bot]") + "@users.noreply.github.com"
}

// afterPushLocked builds the webhooks a push to branch causes.
func (r *Repo) afterPushLocked(branch, before, after, sender string) []pendingEvent {
	evs := []pendingEvent{{"push", r.pushPayload(branch, before, after, sender)}}
	var nums []int
	for n, pr := range r.pulls {
		if pr.state == "open" && pr.HeadRef == branch {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	for _, n := range nums {
		pr := r.pulls[n]
		p := r.emu.pullRequestPayload(pr, "synchronize", sender)
		p["before"], p["after"] = before, after
		evs = append(evs, pendingEvent{"pull_request", p})
	}
	if r.emu.opts.CheckSuiteOnPush {
		suite := r.suiteFor(after)
		evs = append(evs, pendingEvent{"check_suite", r.checkSuitePayload(suite, "requested", sender)})
	}
	return evs
}

// Branch returns the SHA at the tip of branch, or "" when there is no such branch.
func (r *Repo) Branch(name string) string {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	return r.branches[name]
}

// CreateBranch points a new branch at the commit ref resolves to, without a webhook
// (GitHub's "create" event is not emulated).
func (r *Repo) CreateBranch(name, from string) string {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	sha, ok := r.resolve(from)
	if ok {
		r.branches[name] = sha
	}
	return sha
}

// Files returns the files at ref (branch, SHA or "" for the default branch).
func (r *Repo) Files(ref string) map[string]string {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	if ref == "" {
		ref = r.DefaultBranch
	}
	sha, ok := r.resolve(ref)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for p, b := range r.commits[sha].files {
		out[p] = string(r.blobs[b])
	}
	return out
}

// resolve turns a ref (SHA, unique SHA prefix, branch, heads/x, refs/heads/x, HEAD,
// pull/N/head) into a commit SHA. Callers hold e.mu.
func (r *Repo) resolve(ref string) (string, bool) {
	ref = strings.TrimPrefix(ref, "refs/")
	ref = strings.TrimPrefix(ref, "heads/")
	if ref == "HEAD" || ref == "" {
		ref = r.DefaultBranch
	}
	if sha, ok := r.branches[ref]; ok {
		return sha, true
	}
	if _, ok := r.commits[ref]; ok {
		return ref, true
	}
	var n int
	if _, err := fmt.Sscanf(ref, "pull/%d/head", &n); err == nil {
		if pr, ok := r.pulls[n]; ok {
			return pr.headSHA, true
		}
	}
	if len(ref) >= 7 && len(ref) < 40 {
		var hit string
		for sha := range r.commits {
			if strings.HasPrefix(sha, ref) {
				if hit != "" {
					return "", false
				}
				hit = sha
			}
		}
		return hit, hit != ""
	}
	return "", false
}

// mergeBase is the nearest common ancestor of a and b (breadth-first from b), or "".
func (r *Repo) mergeBase(a, b string) string {
	anc := map[string]bool{}
	queue := []string{a}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if anc[c] || r.commits[c] == nil {
			continue
		}
		anc[c] = true
		queue = append(queue, r.commits[c].parents...)
	}
	seen := map[string]bool{}
	queue = []string{b}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c] || r.commits[c] == nil {
			continue
		}
		if anc[c] {
			return c
		}
		seen[c] = true
		queue = append(queue, r.commits[c].parents...)
	}
	return ""
}

// commitsBetween lists commits reachable from head but not from base, oldest first.
func (r *Repo) commitsBetween(base, head string) []*commitObj {
	excl := map[string]bool{}
	stack := []string{base}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c == "" || excl[c] || r.commits[c] == nil {
			continue
		}
		excl[c] = true
		stack = append(stack, r.commits[c].parents...)
	}
	var out []*commitObj
	seen := map[string]bool{}
	stack = []string{head}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c == "" || excl[c] || seen[c] || r.commits[c] == nil {
			continue
		}
		seen[c] = true
		out = append(out, r.commits[c])
		stack = append(stack, r.commits[c].parents...)
	}
	slices.SortStableFunc(out, func(a, b *commitObj) int { return a.time.Compare(b.time) })
	return out
}

// SetPermission sets a user's permission on the repo: admin, maintain, write, triage, read
// or none.
func (r *Repo) SetPermission(user, perm string) {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	r.emu.user(user)
	r.perms[strings.ToLower(user)] = perm
}

// SetPermission sets user's permission on the repo named "owner/name", which must exist.
func (e *Emulator) SetPermission(fullName, user, perm string) {
	r := e.Repo(fullName)
	if r == nil {
		panic("githubemu: SetPermission on unknown repo " + fullName)
	}
	r.SetPermission(user, perm)
}

// permission is the collaborator role; the owner is admin. Callers hold e.mu.
func (r *Repo) permission(login string) string {
	if p, ok := r.perms[strings.ToLower(login)]; ok {
		return p
	}
	if strings.EqualFold(login, r.Owner) {
		return "admin"
	}
	return "none"
}

// authorAssociation is what GitHub reports beside a user's comment or review.
func (r *Repo) authorAssociation(login string) string {
	switch {
	case strings.EqualFold(login, r.Owner):
		return "OWNER"
	case r.emu.orgMembers[strings.ToLower(r.Owner)][strings.ToLower(login)]:
		return "MEMBER"
	case r.permission(login) != "none":
		return "COLLABORATOR"
	}
	for _, c := range r.commits {
		if strings.EqualFold(c.author, login) {
			return "CONTRIBUTOR"
		}
	}
	return "NONE"
}
