package handlers

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sync"

	"github.com/google/go-github/v74/github"
	"golang.org/x/sync/singleflight"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/timeline"
)

// maxTarball bounds a downloaded archive; a data repo far past it needs a different design.
const maxTarball = 1 << 30

// treeCache keeps recently used commit trees. A commit's tree never changes,
// so entries need no expiry, only a bound; concurrent loads of one commit
// share a single download.
type treeCache struct {
	max   int
	group singleflight.Group

	mu    sync.Mutex
	order *list.List // front = most recently used; values are *treeEntry
	byKey map[string]*list.Element
}

type treeEntry struct {
	key  string
	tree checks.MapTree
}

func newTreeCache(size int) *treeCache {
	return &treeCache{max: max(size, 1), order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *treeCache) get(key string) (checks.MapTree, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*treeEntry).tree, true
}

func (c *treeCache) put(key string, t checks.MapTree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&treeEntry{key: key, tree: t})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*treeEntry).key)
	}
}

// load returns the tree at key, calling fetch once however many ask at the same time.
func (c *treeCache) load(key string, fetch func() (checks.MapTree, error)) (checks.MapTree, error) {
	if t, ok := c.get(key); ok {
		return t, nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		if t, ok := c.get(key); ok {
			return t, nil
		}
		t, err := fetch()
		if err != nil {
			return nil, err
		}
		c.put(key, t)
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(checks.MapTree), nil
}

// repoReader reads commits of one repository from GitHub.
type repoReader struct {
	gh          *github.Client
	owner, repo string
	retry       timeline.Retry
	cache       *treeCache
}

// tree returns the files of commit sha, from the cache or GitHub's tarball.
func (r *repoReader) tree(ctx context.Context, sha string) (checks.MapTree, error) {
	key := r.owner + "/" + r.repo + "@" + sha
	return r.cache.load(key, func() (checks.MapTree, error) {
		// A shared download must not end because the first caller's event did.
		ctx := context.WithoutCancel(ctx)
		var t checks.MapTree
		err := r.retry.Do(ctx, fmt.Sprintf("downloading %s/%s at %s", r.owner, r.repo, sha), func(ctx context.Context) (*github.Response, error) {
			link, resp, err := r.gh.Repositories.GetArchiveLink(ctx, r.owner, r.repo, github.Tarball, &github.RepositoryContentGetOptions{Ref: sha}, 1)
			if err != nil {
				return resp, err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
			if err != nil {
				return nil, err
			}
			httpResp, err := r.gh.Client().Do(req)
			if err != nil {
				return nil, err
			}
			defer httpResp.Body.Close()
			resp = &github.Response{Response: httpResp}
			if err := github.CheckResponse(httpResp); err != nil {
				return resp, err
			}
			t, err = checks.ReadTarball(io.LimitReader(httpResp.Body, maxTarball))
			return resp, err
		})
		return t, err
	})
}

// TreeLoader downloads commit trees the way the handlers do: the commit's
// tarball through the installation's client, with GitHub's transient
// failures retried, kept in a bounded cache (a commit never changes). The
// deploy side uses it to build a pull request's release from its head
// before the merge (/promote dev).
type TreeLoader struct {
	retry timeline.Retry
	cache *treeCache
}

// NewTreeLoader keeps up to size trees; retry bounds GitHub retries (zero: defaults).
func NewTreeLoader(size int, retry timeline.Retry) *TreeLoader {
	return &TreeLoader{retry: retry, cache: newTreeCache(size)}
}

// Tree returns the files of owner/repo at commit sha.
func (l *TreeLoader) Tree(ctx context.Context, gh *github.Client, owner, repo, sha string) (checks.MapTree, error) {
	r := &repoReader{gh: gh, owner: owner, repo: repo, retry: l.retry, cache: l.cache}
	return r.tree(ctx, sha)
}

// compare returns the commit base resolves to (a SHA or branch) and the merge
// base of base and head: the point the change's own commits start from.
func (r *repoReader) compare(ctx context.Context, base, head string) (baseSHA, mergeBase string, err error) {
	var cmp *github.CommitsComparison
	err = r.retry.Do(ctx, fmt.Sprintf("comparing %s...%s", base, head), func(ctx context.Context) (resp *github.Response, err error) {
		cmp, resp, err = r.gh.Repositories.CompareCommits(ctx, r.owner, r.repo, base, head, &github.ListOptions{PerPage: 1})
		return resp, err
	})
	if err != nil {
		return "", "", err
	}
	baseSHA, mergeBase = cmp.GetBaseCommit().GetSHA(), cmp.GetMergeBaseCommit().GetSHA()
	if baseSHA == "" || mergeBase == "" {
		return "", "", fmt.Errorf("comparing %s...%s: GitHub gave no base or merge base commit", base, head)
	}
	return baseSHA, mergeBase, nil
}

// configFile reads the repo config at commit sha; fs.ErrNotExist when there is none.
func (r *repoReader) configFile(ctx context.Context, sha string) ([]byte, error) {
	var data []byte
	notFound := false
	err := r.retry.Do(ctx, fmt.Sprintf("reading %s at %s", config.RepoConfigPath, sha), func(ctx context.Context) (*github.Response, error) {
		file, _, resp, err := r.gh.Repositories.GetContents(ctx, r.owner, r.repo, config.RepoConfigPath, &github.RepositoryContentGetOptions{Ref: sha})
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			notFound = true
			return resp, nil
		}
		if err != nil {
			return resp, err
		}
		if file == nil {
			return resp, fmt.Errorf("%s is a directory", config.RepoConfigPath)
		}
		s, err := file.GetContent()
		data = []byte(s)
		return resp, err
	})
	if notFound {
		return nil, fmt.Errorf("%s at %s: %w", config.RepoConfigPath, sha, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}
