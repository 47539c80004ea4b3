// Package airflow deploys a release's DAGs to an MWAA environment: it syncs
// the DAG files to the environment's bucket under dags/ (new and changed
// objects first, by content hash and in parallel, then deletions, then a
// listing that must equal the release exactly), records the S3 version ID of
// every object, and when plugins.zip, requirements.txt or the startup script
// change it points MWAA at their new versions and waits for the update.
package airflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/mwaa"
	mwaatypes "github.com/aws/aws-sdk-go-v2/service/mwaa/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/parcelflow/conveyor/deploy/release"
)

// MetaSHA256 is the object metadata key holding the content hash of what
// Conveyor wrote, so a later sync recognises unchanged objects without reading them.
const MetaSHA256 = "conveyor-sha256"

// Environment files MWAA reads from the bucket root; a change to any of them
// needs an UpdateEnvironment.
const (
	PluginsFile      = "plugins.zip"
	RequirementsFile = "requirements.txt"
	StartupFile      = "startup.sh"
)

// S3API is what the deployer needs of an S3 client.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, opts ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// MWAAAPI is what the deployer needs of an MWAA client.
type MWAAAPI interface {
	GetEnvironment(ctx context.Context, in *mwaa.GetEnvironmentInput, opts ...func(*mwaa.Options)) (*mwaa.GetEnvironmentOutput, error)
	UpdateEnvironment(ctx context.Context, in *mwaa.UpdateEnvironmentInput, opts ...func(*mwaa.Options)) (*mwaa.UpdateEnvironmentOutput, error)
}

// Target is one environment's Airflow.
type Target struct {
	Bucket string
	// DagsPrefix is the key prefix of DAG files (default "dags/").
	DagsPrefix string
	// MWAAEnvironment names the MWAA environment; empty when there is none
	// (embedded defaults), and then environment files are only uploaded.
	MWAAEnvironment string
	// KeepUnknown leaves in place, and lists, the objects under the DAG
	// prefix that no Conveyor deployment wrote: DAGs an environment ran
	// before Conveyor took it over keep running until someone deletes them
	// deliberately. Off, the prefix holds exactly the release.
	KeepUnknown bool
}

func (t Target) prefix() string {
	p := t.DagsPrefix
	if p == "" {
		p = "dags/"
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// Want is one object the bucket must hold.
type Want struct {
	Key  string
	File release.File
}

// Object is one object as written or found in the bucket.
type Object struct {
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag"`
	VersionID string `json:"version_id,omitempty"`
}

// Layout maps a release's Airflow files to bucket keys. root is the
// component's folder in the repo ("dags/"): a file below it goes to
// DagsPrefix + its path under root, except plugins.zip, requirements.txt and
// startup.sh directly in root, which go to the bucket root as MWAA expects.
func Layout(files []release.File, root string, t Target) (dags, envFiles []Want) {
	root = strings.TrimSuffix(root, "/")
	for _, f := range files {
		rel := f.Path
		if root != "" {
			if !strings.HasPrefix(f.Path, root+"/") {
				continue
			}
			rel = strings.TrimPrefix(f.Path, root+"/")
		}
		switch rel {
		case PluginsFile, RequirementsFile, StartupFile:
			envFiles = append(envFiles, Want{Key: rel, File: f})
			continue
		}
		dags = append(dags, Want{Key: t.prefix() + rel, File: f})
	}
	return dags, envFiles
}

// Root is the folder a component's path patterns share ("dags/**/*.py" → "dags").
func Root(patterns []string) string {
	var roots []string
	for _, p := range patterns {
		static := p
		if i := strings.IndexAny(p, "*?[{"); i >= 0 {
			static = p[:i]
		}
		if i := strings.LastIndex(static, "/"); i >= 0 {
			static = static[:i]
		} else {
			static = ""
		}
		roots = append(roots, static)
	}
	if len(roots) == 0 {
		return ""
	}
	common := roots[0]
	for _, r := range roots[1:] {
		for common != "" && r != common && !strings.HasPrefix(r, common+"/") {
			common = path.Dir(common)
			if common == "." {
				common = ""
			}
		}
	}
	return common
}

// Blobs reads a release file's bytes (from the artifact store, hash-checked).
type Blobs func(ctx context.Context, f release.File) ([]byte, error)

// Deployer syncs DAGs to S3 and updates MWAA.
type Deployer struct {
	S3 S3API
	// MWAA may be nil when the target has no MWAA environment.
	MWAA MWAAAPI
	// Parallel bounds concurrent uploads (default 16).
	Parallel int
	// PollInterval is how often MWAA is polled while updating (default 30 s).
	PollInterval time.Duration
	// UpdateTimeout bounds the wait for MWAA (default 60 min: updates take 20–40).
	UpdateTimeout time.Duration
	// Guard, when set, is asked before each phase of a sync — "upload",
	// "delete", "verify" and "mwaa" — and an error stops the sync there. The
	// deploy engine checks with it that its lock's fencing token is still
	// current, so a holder that lost the lock stops writing at the next
	// phase instead of at its next lease renewal.
	Guard func(ctx context.Context, phase string) error
}

func (d *Deployer) guard(ctx context.Context, phase string) error {
	if d.Guard == nil {
		return nil
	}
	if err := d.Guard(ctx, phase); err != nil {
		return fmt.Errorf("airflow: stopped before the %s phase: %w", phase, err)
	}
	return nil
}

// Result is what a sync did.
type Result struct {
	// Objects is the final state of every object the release owns, by key,
	// with the version ID that holds it.
	Objects  map[string]Object `json:"objects"`
	Uploaded []string          `json:"uploaded,omitempty"`
	Deleted  []string          `json:"deleted,omitempty"`
	// Kept are the objects left in place under Target.KeepUnknown.
	Kept             []string  `json:"kept,omitempty"`
	BytesUploaded    int64     `json:"bytes_uploaded"`
	EnvFilesChanged  []string  `json:"env_files_changed,omitempty"`
	MWAAUpdated      bool      `json:"mwaa_updated,omitempty"`
	MWAAStatus       string    `json:"mwaa_status,omitempty"`
	VerifiedAt       time.Time `json:"verified_at"`
	DagsPrefixDigest string    `json:"dags_prefix_digest"`
}

// VerifyError says the bucket does not hold exactly the release.
type VerifyError struct {
	Bucket, Prefix string
	Missing        []string
	Extra          []string
	Different      []string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("s3://%s/%s does not equal the release: %d missing %v, %d extra %v, %d different %v",
		e.Bucket, e.Prefix, len(e.Missing), head(e.Missing), len(e.Extra), head(e.Extra), len(e.Different), head(e.Different))
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// Deploy makes the bucket hold exactly dags under the DAG prefix and
// envFiles at the root, then updates MWAA if an environment file's version
// is not the one MWAA runs. known holds objects written by earlier
// deployments (by key), so unchanged files are recognised by ETag without a
// request. Every step is idempotent: running Deploy again after a failure
// converges.
func (d *Deployer) Deploy(ctx context.Context, t Target, dags, envFiles []Want, known map[string]Object, read Blobs) (*Result, error) {
	res := &Result{Objects: map[string]Object{}}
	prefix := t.prefix()
	current, err := d.list(ctx, t.Bucket, prefix)
	if err != nil {
		return res, err
	}
	toUpload, err := d.diff(ctx, t.Bucket, dags, current, known, res)
	if err != nil {
		return res, err
	}
	envCurrent := map[string]Object{}
	for _, w := range envFiles {
		o, err := d.head(ctx, t.Bucket, w.Key)
		if err == nil {
			envCurrent[w.Key] = o
		} else if !isNotFound(err) {
			return res, err
		}
	}
	envUpload, err := d.diff(ctx, t.Bucket, envFiles, envCurrent, known, res)
	if err != nil {
		return res, err
	}
	for _, w := range envUpload {
		res.EnvFilesChanged = append(res.EnvFilesChanged, w.Key)
	}
	// New and changed objects first, so at no point is a DAG missing that
	// both the old and the new release have.
	if err := d.guard(ctx, "upload"); err != nil {
		return res, err
	}
	if err := d.upload(ctx, t.Bucket, append(toUpload, envUpload...), read, res); err != nil {
		return res, err
	}
	want := map[string]bool{}
	for _, w := range dags {
		want[w.Key] = true
	}
	var extra []string
	kept := map[string]bool{}
	for k := range current {
		if want[k] {
			continue
		}
		if _, ours := known[k]; t.KeepUnknown && !ours {
			kept[k] = true
			res.Kept = append(res.Kept, k)
			continue
		}
		extra = append(extra, k)
	}
	sort.Strings(extra)
	sort.Strings(res.Kept)
	if err := d.guard(ctx, "delete"); err != nil {
		return res, err
	}
	if err := d.delete(ctx, t.Bucket, extra); err != nil {
		return res, err
	}
	res.Deleted = extra
	if err := d.guard(ctx, "verify"); err != nil {
		return res, err
	}
	if err := d.verify(ctx, t.Bucket, prefix, dags, kept, res); err != nil {
		return res, err
	}
	res.VerifiedAt = time.Now().UTC()
	if t.MWAAEnvironment != "" && d.MWAA != nil && len(envFiles) > 0 {
		if err := d.guard(ctx, "mwaa"); err != nil {
			return res, err
		}
		if err := d.updateMWAA(ctx, t, envFiles, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// diff decides which wanted objects must be written, filling res.Objects
// with the ones already in place.
func (d *Deployer) diff(ctx context.Context, bucket string, wants []Want, current, known map[string]Object, res *Result) ([]Want, error) {
	var out []Want
	for _, w := range wants {
		cur, ok := current[w.Key]
		if !ok {
			out = append(out, w)
			continue
		}
		if k, ok := known[w.Key]; ok && k.SHA256 == w.File.SHA256 && k.ETag == cur.ETag && k.ETag != "" {
			res.Objects[w.Key] = k
			continue
		}
		if cur.Size != w.File.Size {
			out = append(out, w)
			continue
		}
		// Written by someone we have no record of: its metadata says what it holds.
		h, err := d.head(ctx, bucket, w.Key)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if err == nil && h.SHA256 == w.File.SHA256 {
			res.Objects[w.Key] = h
			continue
		}
		out = append(out, w)
	}
	return out, nil
}

func (d *Deployer) upload(ctx context.Context, bucket string, wants []Want, read Blobs, res *Result) error {
	par := d.Parallel
	if par <= 0 {
		par = 16
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	var mu sync.Mutex
	var bytesUp atomic.Int64
	for _, w := range wants {
		g.Go(func() error {
			b, err := read(gctx, w.File)
			if err != nil {
				return err
			}
			out, err := d.S3.PutObject(gctx, &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(w.Key),
				Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))),
				Metadata: map[string]string{MetaSHA256: w.File.SHA256},
			})
			if err != nil {
				return fmt.Errorf("airflow: uploading s3://%s/%s: %w", bucket, w.Key, err)
			}
			bytesUp.Add(int64(len(b)))
			mu.Lock()
			res.Objects[w.Key] = Object{Key: w.Key, SHA256: w.File.SHA256, Size: w.File.Size, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}
			res.Uploaded = append(res.Uploaded, w.Key)
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	sort.Strings(res.Uploaded)
	res.BytesUploaded += bytesUp.Load()
	return err
}

func (d *Deployer) delete(ctx context.Context, bucket string, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		batch := keys[:n]
		keys = keys[n:]
		ids := make([]s3types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := d.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("airflow: deleting %d objects from s3://%s: %w", len(batch), bucket, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("airflow: deleting s3://%s/%s: %s %s (and %d more)", bucket, aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)
		}
	}
	return nil
}

func (d *Deployer) list(ctx context.Context, bucket, prefix string) (map[string]Object, error) {
	out := map[string]Object{}
	p := s3.NewListObjectsV2Paginator(d.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("airflow: listing s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			out[k] = Object{Key: k, ETag: aws.ToString(o.ETag), Size: aws.ToInt64(o.Size)}
		}
	}
	return out, nil
}

// List returns every object under the target's DAG prefix (for tests,
// status and drift checks).
func (d *Deployer) List(ctx context.Context, t Target) (map[string]Object, error) {
	return d.list(ctx, t.Bucket, t.prefix())
}

func (d *Deployer) head(ctx context.Context, bucket, key string) (Object, error) {
	h, err := d.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return Object{}, err
		}
		return Object{}, fmt.Errorf("airflow: reading s3://%s/%s: %w", bucket, key, err)
	}
	return Object{Key: key, SHA256: h.Metadata[MetaSHA256], Size: aws.ToInt64(h.ContentLength), ETag: aws.ToString(h.ETag), VersionID: aws.ToString(h.VersionId)}, nil
}

// verify lists the prefix and checks it equals the wanted objects exactly:
// the same keys, each with the ETag of the object this release put there.
func (d *Deployer) verify(ctx context.Context, bucket, prefix string, dags []Want, kept map[string]bool, res *Result) error {
	got, err := d.list(ctx, bucket, prefix)
	if err != nil {
		return err
	}
	ve := &VerifyError{Bucket: bucket, Prefix: prefix}
	want := map[string]bool{}
	for _, w := range dags {
		want[w.Key] = true
		g, ok := got[w.Key]
		switch {
		case !ok:
			ve.Missing = append(ve.Missing, w.Key)
		case g.ETag != res.Objects[w.Key].ETag || g.Size != w.File.Size:
			ve.Different = append(ve.Different, w.Key)
		}
	}
	for k := range got {
		if !want[k] && !kept[k] {
			ve.Extra = append(ve.Extra, k)
		}
	}
	if len(ve.Missing)+len(ve.Extra)+len(ve.Different) > 0 {
		sort.Strings(ve.Missing)
		sort.Strings(ve.Extra)
		sort.Strings(ve.Different)
		return ve
	}
	res.DagsPrefixDigest = Digest(res.Objects, prefix)
	return nil
}

// Digest summarises the objects under prefix (key and content hash), so
// two deployments can be compared at a glance.
func Digest(objs map[string]Object, prefix string) string {
	var keys []string
	for k := range objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var files []release.File
	for _, k := range keys {
		files = append(files, release.File{Path: k, SHA256: objs[k].SHA256, Size: objs[k].Size})
	}
	return release.ComputeID(files)
}

// ErrMWAAUpdate is wrapped by errors from an MWAA update that did not succeed.
var ErrMWAAUpdate = errors.New("MWAA environment update failed")

func (d *Deployer) updateMWAA(ctx context.Context, t Target, envFiles []Want, res *Result) error {
	env, err := d.waitIdle(ctx, t.MWAAEnvironment)
	if err != nil {
		return err
	}
	in := &mwaa.UpdateEnvironmentInput{Name: aws.String(t.MWAAEnvironment)}
	changed := false
	for _, w := range envFiles {
		v := res.Objects[w.Key].VersionID
		if v == "" || v == "null" {
			return fmt.Errorf("airflow: s3://%s/%s has no version ID; MWAA needs bucket versioning enabled", t.Bucket, w.Key)
		}
		switch w.Key {
		case PluginsFile:
			changed = changed || aws.ToString(env.PluginsS3ObjectVersion) != v
			in.PluginsS3Path, in.PluginsS3ObjectVersion = aws.String(w.Key), aws.String(v)
		case RequirementsFile:
			changed = changed || aws.ToString(env.RequirementsS3ObjectVersion) != v
			in.RequirementsS3Path, in.RequirementsS3ObjectVersion = aws.String(w.Key), aws.String(v)
		case StartupFile:
			changed = changed || aws.ToString(env.StartupScriptS3ObjectVersion) != v
			in.StartupScriptS3Path, in.StartupScriptS3ObjectVersion = aws.String(w.Key), aws.String(v)
		}
	}
	if !changed {
		res.MWAAStatus = string(env.Status)
		return nil
	}
	if _, err := d.MWAA.UpdateEnvironment(ctx, in); err != nil {
		return fmt.Errorf("airflow: updating MWAA environment %s: %w", t.MWAAEnvironment, err)
	}
	res.MWAAUpdated = true
	env, err = d.waitIdle(ctx, t.MWAAEnvironment)
	if err != nil {
		return err
	}
	res.MWAAStatus = string(env.Status)
	if env.Status != mwaatypes.EnvironmentStatusAvailable || (env.LastUpdate != nil && env.LastUpdate.Status == mwaatypes.UpdateStatusFailed) {
		msg := ""
		if env.LastUpdate != nil && env.LastUpdate.Error != nil {
			msg = ": " + aws.ToString(env.LastUpdate.Error.ErrorCode) + " " + aws.ToString(env.LastUpdate.Error.ErrorMessage)
		}
		return fmt.Errorf("airflow: %s is %s after the update%s: %w", t.MWAAEnvironment, env.Status, msg, ErrMWAAUpdate)
	}
	return nil
}

// waitIdle polls until the environment is neither updating nor rolling back.
func (d *Deployer) waitIdle(ctx context.Context, name string) (*mwaatypes.Environment, error) {
	interval, limit := d.PollInterval, d.UpdateTimeout
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if limit <= 0 {
		limit = time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last mwaatypes.EnvironmentStatus
	for {
		out, err := d.MWAA.GetEnvironment(ctx, &mwaa.GetEnvironmentInput{Name: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("airflow: reading MWAA environment %s: %w", name, err)
		}
		if out.Environment == nil {
			return nil, fmt.Errorf("airflow: MWAA environment %s: empty answer", name)
		}
		last = out.Environment.Status
		switch last {
		case mwaatypes.EnvironmentStatusUpdating, mwaatypes.EnvironmentStatusRollingBack,
			mwaatypes.EnvironmentStatusPending, mwaatypes.EnvironmentStatusCreatingSnapshot:
		default:
			return out.Environment, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("airflow: MWAA environment %s still %s: %w", name, last, ctx.Err())
		case <-time.After(interval):
		}
	}
}

func isNotFound(err error) bool {
	var nf *s3types.NotFound
	var nk *s3types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == 404
}
