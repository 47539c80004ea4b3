// Package artifacts keeps release bundles: an S3 bucket in the tooling
// account in production, or on embedded defaults a directory or an
// in-process S3-compatible server reached through the same SDK calls.
package artifacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNotFound is returned when a key is not in the store.
var ErrNotFound = errors.New("artifact not found")

// Store is where release bundles live. Keys are slash-separated.
type Store interface {
	Put(ctx context.Context, key string, body []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	Exists(ctx context.Context, key string) (bool, error)
}

// S3 is a Store in an S3 bucket under an optional prefix.
type S3 struct {
	Client *s3.Client
	Bucket string
	Prefix string
}

var _ Store = (*S3)(nil)

func (s *S3) key(k string) string { return strings.TrimSuffix(s.Prefix, "/") + pathSep(s.Prefix) + k }

func pathSep(prefix string) string {
	if prefix == "" {
		return ""
	}
	return "/"
}

// Put writes body at key.
func (s *S3) Put(ctx context.Context, key string, body []byte) error {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(s.key(key)),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("artifacts: writing s3://%s/%s: %w", s.Bucket, s.key(key), err)
	}
	return nil
}

// Get reads key; ErrNotFound when it is missing.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(key))})
	if err != nil {
		if IsNotFound(err) {
			return nil, fmt.Errorf("s3://%s/%s: %w", s.Bucket, s.key(key), ErrNotFound)
		}
		return nil, fmt.Errorf("artifacts: reading s3://%s/%s: %w", s.Bucket, s.key(key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("artifacts: reading s3://%s/%s: %w", s.Bucket, s.key(key), err)
	}
	return b, nil
}

// Exists reports whether key is stored.
func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(key))})
	if err == nil {
		return true, nil
	}
	if IsNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("artifacts: looking up s3://%s/%s: %w", s.Bucket, s.key(key), err)
}

// IsNotFound reports whether an S3 error means the key or bucket is missing.
func IsNotFound(err error) bool {
	var nk *s3types.NoSuchKey
	var nf *s3types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// Dir is a Store in a local directory, for a single machine on embedded defaults.
type Dir struct{ Root string }

var _ Store = Dir{}

func (d Dir) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if clean == "/" || strings.Contains(key, "..") {
		return "", fmt.Errorf("artifacts: invalid key %q", key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(clean)), nil
}

// Put writes body at key atomically (write then rename).
func (d Dir) Put(_ context.Context, key string, body []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("artifacts: writing %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("artifacts: writing %s: %w", key, err)
	}
	return os.Rename(tmp.Name(), p)
}

// Get reads key; ErrNotFound when it is missing.
func (d Dir) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return b, err
}

// Exists reports whether key is stored.
func (d Dir) Exists(_ context.Context, key string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
