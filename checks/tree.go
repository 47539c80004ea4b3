package checks

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Tree is a read-only snapshot of the repo at one commit.
type Tree interface {
	// Files lists every file path, slash-separated, sorted.
	Files() []string
	// ReadFile returns a file's content; fs.ErrNotExist when absent.
	ReadFile(path string) ([]byte, error)
}

// MaxFileSize bounds what a tree loads per file; larger files are listed but
// read as empty, since no validator needs multi-megabyte sources.
const MaxFileSize = 8 << 20

// MapTree is an in-memory tree.
type MapTree map[string][]byte

// Files lists the tree's paths, sorted.
func (t MapTree) Files() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ReadFile returns a file's content.
func (t MapTree) ReadFile(p string) ([]byte, error) {
	b, ok := t[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return b, nil
}

// EmptyTree has no files: the base of a plain directory, or of a new repo.
var EmptyTree Tree = MapTree{}

// skipDir reports folders no check ever reads.
func skipDir(name string) bool {
	switch name {
	case ".git", "node_modules", ".terraform", "__pycache__", ".venv", "venv", "dbt_packages", "logs":
		return true
	}
	return false
}

// ReadDir loads a directory from disk into memory.
func ReadDir(root string) (MapTree, error) {
	t := MapTree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var data []byte
		if info.Size() <= MaxFileSize {
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		t[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	return t, nil
}

// ReadGitRef loads the tree of ref from the git repository at dir.
func ReadGitRef(ctx context.Context, dir, ref string) (MapTree, error) {
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "archive", "--format=tar", ref)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("reading %s at %s: %s", dir, ref, strings.TrimSpace(stderr.String()))
	}
	return readTar(&out, false)
}

// ReadTarball loads a gzip tarball as GitHub serves it (one top folder).
func ReadTarball(r io.Reader) (MapTree, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading tarball: %w", err)
	}
	defer gz.Close()
	return readTar(gz, true)
}

func readTar(r io.Reader, stripTop bool) (MapTree, error) {
	t := MapTree{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := h.Name
		if stripTop {
			if i := strings.Index(name, "/"); i >= 0 {
				name = name[i+1:]
			}
		}
		name = path.Clean(name)
		if name == "." || strings.HasPrefix(name, "../") || skipPath(name) {
			continue
		}
		var data []byte
		if h.Size <= MaxFileSize {
			if data, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("reading %s from tar: %w", name, err)
			}
		}
		t[name] = data
	}
}

func skipPath(p string) bool {
	for _, part := range strings.Split(path.Dir(p), "/") {
		if skipDir(part) {
			return true
		}
	}
	return false
}

// Materialize writes a tree to dir, for commands that need files on disk.
func Materialize(t Tree, dir string) error {
	for _, p := range t.Files() {
		data, err := t.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// IsGitRepo reports whether dir is inside a git work tree.
func IsGitRepo(ctx context.Context, dir string) bool {
	return exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--is-inside-work-tree").Run() == nil
}
