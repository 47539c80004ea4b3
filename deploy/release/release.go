// Package release builds the immutable, content-addressed bundle of one
// commit: a manifest of every file of every component (path, sha256, size,
// mode) with the commit, PR, checks and risk, and the file bytes stored by
// hash in an artifact store. The release ID is the hash of the file list, so
// the same content is the same release, and the same bytes go to every
// environment.
package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/artifacts"
)

// ManifestVersion is the format version of a manifest.
const ManifestVersion = 1

// DeployComponent labels the files the repo's deploy settings name
// (migrations, smoke SQL) when no component owns them.
const DeployComponent = "_deploy"

// Tree is the part of a source tree a release is built from
// (checks.MapTree satisfies it).
type Tree interface {
	Files() []string
	ReadFile(path string) ([]byte, error)
}

// ModeTree is a Tree that knows file modes; others get 0644.
type ModeTree interface {
	Mode(path string) (fs.FileMode, bool)
}

// File is one file of a release.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Mode   uint32 `json:"mode"`
	// Components names the components that own the file.
	Components []string `json:"components"`
}

// Check is a check the release's commit passed.
type Check struct {
	Name       string `json:"name"`
	Conclusion string `json:"conclusion"`
}

// Meta is what a release records about where it came from.
type Meta struct {
	SHA    string  `json:"sha"`
	PR     int     `json:"pr,omitempty"`
	Checks []Check `json:"checks,omitempty"`
	// Risk is "low" or "high", as policy decided.
	Risk string `json:"risk"`
}

// Release is a manifest and its ID.
type Release struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Meta
	// Kinds maps each component to its kind, so deployers need no config to
	// tell a DAG from a model.
	Kinds     map[string]string `json:"kinds"`
	Files     []File            `json:"files"`
	CreatedAt time.Time         `json:"created_at"`
}

// Short is the ID's first 12 characters, for people.
func (r *Release) Short() string { return Short(r.ID) }

// Short shortens a release ID for people.
func Short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Build makes the release of tree under cfg. Files that no component owns
// (and the deploy settings do not name) are not part of it.
func Build(tree Tree, cfg *config.RepoConfig, meta Meta, now time.Time) (*Release, error) {
	if meta.Risk == "" {
		meta.Risk = "high"
	}
	named := map[string]bool{}
	for _, p := range append(append([]string{}, cfg.Deploy.Migrations...), cfg.Deploy.SmokeSQL...) {
		named[p] = true
	}
	r := &Release{Version: ManifestVersion, Meta: meta, Kinds: map[string]string{}, CreatedAt: now.UTC()}
	for _, c := range cfg.Components {
		r.Kinds[c.Name] = c.Kind
	}
	paths := append([]string{}, tree.Files()...)
	sort.Strings(paths)
	for _, p := range paths {
		var comps []string
		for _, c := range cfg.ComponentsFor(p) {
			comps = append(comps, c.Name)
		}
		if len(comps) == 0 && named[p] {
			comps = []string{DeployComponent}
		}
		if len(comps) == 0 {
			continue
		}
		b, err := tree.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("release: reading %s: %w", p, err)
		}
		mode := fs.FileMode(0o644)
		if mt, ok := tree.(ModeTree); ok {
			if m, ok := mt.Mode(p); ok {
				mode = m.Perm()
			}
		}
		sum := sha256.Sum256(b)
		r.Files = append(r.Files, File{Path: p, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), Mode: uint32(mode), Components: comps})
	}
	for p := range named {
		if r.File(p) == nil {
			return nil, fmt.Errorf("release: %s names %s, which is not in the tree", cfg.File, p)
		}
	}
	r.ID = ComputeID(r.Files)
	return r, nil
}

// ComputeID hashes the sorted file list: path, content hash, size, mode and owners.
func ComputeID(files []File) string {
	sorted := append([]File{}, files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%s\t%s\t%d\t%o\t%s\n", f.Path, f.SHA256, f.Size, f.Mode, strings.Join(f.Components, ","))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// File returns the file at p, or nil.
func (r *Release) File(p string) *File {
	i := sort.Search(len(r.Files), func(i int) bool { return r.Files[i].Path >= p })
	if i < len(r.Files) && r.Files[i].Path == p {
		return &r.Files[i]
	}
	return nil
}

// FilesOf returns the files owned by component.
func (r *Release) FilesOf(component string) []File {
	var out []File
	for _, f := range r.Files {
		for _, c := range f.Components {
			if c == component {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// ComponentsOfKind returns the release's components of kind, sorted.
func (r *Release) ComponentsOfKind(kind string) []string {
	var out []string
	for c, k := range r.Kinds {
		if k == kind {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// Changed reports whether component's files differ between r and prev
// (prev nil: everything is new).
func (r *Release) Changed(prev *Release, component string) bool {
	a := r.FilesOf(component)
	if prev == nil {
		return len(a) > 0
	}
	b := prev.FilesOf(component)
	if len(a) != len(b) {
		return true
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].SHA256 != b[i].SHA256 || a[i].Mode != b[i].Mode {
			return true
		}
	}
	return false
}

// Marshal encodes the manifest as JSON.
func (r *Release) Marshal() ([]byte, error) { return json.MarshalIndent(r, "", " ") }

// Parse decodes a manifest and checks that its ID matches its files.
func Parse(b []byte) (*Release, error) {
	var r Release
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("release: reading manifest: %w", err)
	}
	if r.Version != ManifestVersion {
		return nil, fmt.Errorf("release: manifest version %d, want %d", r.Version, ManifestVersion)
	}
	for i, f := range r.Files {
		if !validSHA(f.SHA256) {
			return nil, fmt.Errorf("release: manifest file %d (%s): sha256 %q is not 64 hex characters", i, f.Path, f.SHA256)
		}
		if f.Path == "" || path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || strings.HasPrefix(f.Path, "../") {
			return nil, fmt.Errorf("release: manifest file %d: path %q is not a clean relative path", i, f.Path)
		}
		if i > 0 && r.Files[i-1].Path >= f.Path {
			return nil, fmt.Errorf("release: manifest file %d (%s): files are not sorted and unique", i, f.Path)
		}
	}
	if id := ComputeID(r.Files); id != r.ID {
		return nil, fmt.Errorf("release: manifest ID %s does not match its files (%s)", Short(r.ID), Short(id))
	}
	return &r, nil
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// BlobKey is where a file's bytes live in the artifact store.
func BlobKey(sha string) string { return "blobs/sha256/" + sha }

// ManifestKey is where a release's manifest lives in the artifact store.
func ManifestKey(id string) string { return "releases/" + id + "/manifest.json" }

// Publish stores every blob the artifact store lacks, then the manifest, so
// a stored manifest always has all its bytes.
func Publish(ctx context.Context, store artifacts.Store, r *Release, tree Tree) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	seen := map[string]bool{}
	for _, f := range r.Files {
		if seen[f.SHA256] {
			continue
		}
		seen[f.SHA256] = true
		f := f
		g.Go(func() error {
			ok, err := store.Exists(gctx, BlobKey(f.SHA256))
			if err != nil || ok {
				return err
			}
			b, err := tree.ReadFile(f.Path)
			if err != nil {
				return fmt.Errorf("release: reading %s: %w", f.Path, err)
			}
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
				return fmt.Errorf("release: %s changed since the manifest was built", f.Path)
			}
			return store.Put(gctx, BlobKey(f.SHA256), b)
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("release %s: publishing: %w", r.Short(), err)
	}
	m, err := r.Marshal()
	if err != nil {
		return err
	}
	return store.Put(ctx, ManifestKey(r.ID), m)
}

// Load reads a published release's manifest.
func Load(ctx context.Context, store artifacts.Store, id string) (*Release, error) {
	b, err := store.Get(ctx, ManifestKey(id))
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", Short(id), err)
	}
	return Parse(b)
}

// ReadBlob reads a file's bytes and checks them against the manifest.
func ReadBlob(ctx context.Context, store artifacts.Store, f File) ([]byte, error) {
	b, err := store.Get(ctx, BlobKey(f.SHA256))
	if err != nil {
		return nil, fmt.Errorf("release: reading %s: %w", f.Path, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
		return nil, fmt.Errorf("release: stored bytes of %s do not match its hash %s", f.Path, f.SHA256[:12])
	}
	return b, nil
}

// Materialize writes the release's files under dir (the executor's working
// tree), checking every file against its hash.
func Materialize(ctx context.Context, store artifacts.Store, r *Release, dir string) error {
	for _, f := range r.Files {
		b, err := ReadBlob(ctx, store, f)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("release: %w", err)
		}
		if err := os.WriteFile(p, b, fs.FileMode(f.Mode)); err != nil {
			return fmt.Errorf("release: writing %s: %w", f.Path, err)
		}
	}
	return nil
}
