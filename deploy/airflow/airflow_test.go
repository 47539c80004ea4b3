package airflow_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/airflow/airflowtest"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/release"
)

type bucket struct {
	srv    *artifacts.LocalS3
	faults *airflowtest.Faults
	dep    *airflow.Deployer
	target airflow.Target
}

func newBucket(tb testing.TB) *bucket {
	tb.Helper()
	b := &bucket{target: airflow.Target{Bucket: "mwaa-dev"}}
	srv, err := artifacts.StartLocalS3(func(h http.Handler) http.Handler {
		b.faults = airflowtest.NewFaults(h)
		return b.faults
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	b.srv = srv
	client := srv.Client(nil)
	if err := artifacts.EnsureBucket(context.Background(), client, "mwaa-dev", true); err != nil {
		tb.Fatal(err)
	}
	b.dep = &airflow.Deployer{S3: client, Parallel: 8}
	return b
}

// files builds a release-like file set with its blobs.
type fileSet struct {
	files []release.File
	blobs map[string][]byte
}

func makeFiles(n int, edit map[string]string) fileSet {
	fs := fileSet{blobs: map[string][]byte{}}
	add := func(p, content string) {
		sum := sha256.Sum256([]byte(content))
		h := hex.EncodeToString(sum[:])
		fs.blobs[h] = []byte(content)
		fs.files = append(fs.files, release.File{Path: p, SHA256: h, Size: int64(len(content)), Mode: 0o644, Components: []string{"dags"}})
	}
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("dags/pipeline_%03d.py", i)
		c := fmt.Sprintf("from airflow import DAG\n# pipeline %d\n%0800d\n", i, i)
		if v, ok := edit[p]; ok {
			if v == "" {
				continue
			}
			c = v
		}
		add(p, c)
	}
	for p, v := range edit {
		if v != "" && fs.find(p) < 0 {
			add(p, v)
		}
	}
	sort.Slice(fs.files, func(i, j int) bool { return fs.files[i].Path < fs.files[j].Path })
	return fs
}

func (fs fileSet) find(p string) int {
	for i, f := range fs.files {
		if f.Path == p {
			return i
		}
	}
	return -1
}

func (fs fileSet) read(_ context.Context, f release.File) ([]byte, error) {
	return fs.blobs[f.SHA256], nil
}

func (b *bucket) deploy(tb testing.TB, fs fileSet, known map[string]airflow.Object) (*airflow.Result, error) {
	tb.Helper()
	dags, env := airflow.Layout(fs.files, "dags", b.target)
	return b.dep.Deploy(context.Background(), b.target, dags, env, known, fs.read)
}

func (b *bucket) assertEquals(t *testing.T, fs fileSet) {
	t.Helper()
	got, err := b.dep.List(context.Background(), b.target)
	if err != nil {
		t.Fatal(err)
	}
	dags, _ := airflow.Layout(fs.files, "dags", b.target)
	if len(got) != len(dags) {
		t.Fatalf("bucket holds %d objects, release has %d", len(got), len(dags))
	}
	for _, w := range dags {
		o, ok := got[w.Key]
		if !ok || o.Size != w.File.Size {
			t.Fatalf("%s: got %+v, want size %d", w.Key, o, w.File.Size)
		}
	}
}

func TestSync(t *testing.T) {
	b := newBucket(t)
	v1 := makeFiles(180, nil)
	r1, err := b.deploy(t, v1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.Uploaded) != 180 || len(r1.Objects) != 180 {
		t.Fatalf("first sync uploaded %d, recorded %d", len(r1.Uploaded), len(r1.Objects))
	}
	for k, o := range r1.Objects {
		if o.VersionID == "" || o.ETag == "" {
			t.Fatalf("%s: no version ID or ETag recorded: %+v", k, o)
		}
	}
	b.assertEquals(t, v1)

	tests := []struct {
		name         string
		edit         map[string]string
		known        bool
		wantUploaded []string
		wantDeleted  []string
	}{
		{"nothing changed", nil, true, nil, nil},
		{"nothing changed, no record of earlier writes", nil, false, nil, nil},
		{"one DAG changes", map[string]string{"dags/pipeline_042.py": "changed"}, true, []string{"dags/pipeline_042.py"}, nil},
		{"one DAG removed, one added", map[string]string{"dags/pipeline_042.py": "changed", "dags/pipeline_001.py": "", "dags/new_one.py": "new"}, true, []string{"dags/new_one.py"}, []string{"dags/pipeline_001.py"}},
	}
	prev := r1
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := makeFiles(180, tc.edit)
			var known map[string]airflow.Object
			if tc.known {
				known = prev.Objects
			}
			before := b.faults.PutBytes.Load()
			r, err := b.deploy(t, fs, known)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(r.Uploaded) != fmt.Sprint(tc.wantUploaded) || fmt.Sprint(r.Deleted) != fmt.Sprint(tc.wantDeleted) {
				t.Fatalf("uploaded %v deleted %v, want %v %v", r.Uploaded, r.Deleted, tc.wantUploaded, tc.wantDeleted)
			}
			var want int64
			for _, k := range tc.wantUploaded {
				want += fs.files[fs.find(k)].Size
			}
			if r.BytesUploaded != want || b.faults.PutBytes.Load()-before != want {
				t.Fatalf("bytes uploaded %d (server saw %d), want %d", r.BytesUploaded, b.faults.PutBytes.Load()-before, want)
			}
			b.assertEquals(t, fs)
			prev = r
		})
	}
}

func TestSyncFaults(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("drop connection %v", drop), func(t *testing.T) {
			b := newBucket(t)
			v1 := makeFiles(40, nil)
			r1, err := b.deploy(t, v1, nil)
			if err != nil {
				t.Fatal(err)
			}
			edit := map[string]string{"dags/pipeline_039.py": ""}
			for i := 0; i < 20; i++ {
				edit[fmt.Sprintf("dags/pipeline_%03d.py", i)] = fmt.Sprintf("v2 %d", i)
			}
			v2 := makeFiles(40, edit)
			b.faults.DropConnection.Store(drop)
			b.faults.FailPutAfter.Store(b.faults.Puts.Load() + 5)
			_, err = b.deploy(t, v2, r1.Objects)
			if err == nil {
				t.Fatal("sync must fail while S3 fails")
			}
			if b.faults.Failed.Load() == 0 {
				t.Fatal("no fault was injected")
			}
			// Deletions come after uploads: the removed DAG is still there.
			got, _ := b.dep.List(context.Background(), b.target)
			if _, ok := got["dags/pipeline_039.py"]; !ok {
				t.Fatal("a failed sync must not have deleted anything")
			}
			b.faults.FailPutAfter.Store(-1)
			r2, err := b.deploy(t, v2, r1.Objects)
			if err != nil {
				t.Fatalf("retry must converge: %v", err)
			}
			b.assertEquals(t, v2)
			if len(r2.Uploaded) > 20 {
				t.Fatalf("retry uploaded %d objects, at most 20 differ", len(r2.Uploaded))
			}
		})
	}
}

func TestVerifyCatchesForeignWrites(t *testing.T) {
	b := newBucket(t)
	v1 := makeFiles(5, nil)
	if _, err := b.deploy(t, v1, nil); err != nil {
		t.Fatal(err)
	}
	// A writer racing the deployer puts an object under the prefix after the
	// deletions: the verification listing must catch it.
	racer := &racingS3{S3API: b.dep.S3, bucket: b.target.Bucket}
	dep := &airflow.Deployer{S3: racer}
	dags, env := airflow.Layout(v1.files, "dags", b.target)
	_, err := dep.Deploy(context.Background(), b.target, dags, env, nil, v1.read)
	var ve *airflow.VerifyError
	if !errors.As(err, &ve) || len(ve.Extra) != 1 || ve.Extra[0] != "dags/intruder.py" {
		t.Fatalf("want a VerifyError naming the intruder, got %v", err)
	}
}

type racingS3 struct {
	airflow.S3API
	bucket string
	lists  int
}

func (r *racingS3) ListObjectsV2(ctx context.Context, in *s3ListInput, opts ...func(*s3Options)) (*s3ListOutput, error) {
	r.lists++
	if r.lists == 2 {
		if _, err := r.S3API.PutObject(ctx, putInput(r.bucket, "dags/intruder.py", "x")); err != nil {
			return nil, err
		}
	}
	return r.S3API.ListObjectsV2(ctx, in, opts...)
}

func TestMWAAUpdate(t *testing.T) {
	fake := airflowtest.NewMWAA("parcelflow-dev")
	fake.UpdatingPolls = 2
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}

	b := newBucket(t)
	b.target.MWAAEnvironment = "parcelflow-dev"
	b.dep.MWAA = airflow.NewMWAAClient(cfg, srv.URL)
	b.dep.PollInterval = time.Millisecond

	v1 := makeFiles(3, map[string]string{"dags/requirements.txt": "apache-airflow-providers-snowflake==5.0.0\n"})
	r1, err := b.deploy(t, v1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ups := fake.Updates()
	if !r1.MWAAUpdated || len(ups) != 1 {
		t.Fatalf("want one MWAA update, got %d (%v)", len(ups), r1.MWAAUpdated)
	}
	if ups[0]["RequirementsS3Path"] != "requirements.txt" || ups[0]["RequirementsS3ObjectVersion"] != r1.Objects["requirements.txt"].VersionID {
		t.Fatalf("update request %v does not carry the new object version %s", ups[0], r1.Objects["requirements.txt"].VersionID)
	}
	if _, ok := r1.Objects["dags/requirements.txt"]; ok {
		t.Fatal("requirements.txt must go to the bucket root, not under dags/")
	}

	t.Run("unchanged requirements need no update", func(t *testing.T) {
		r, err := b.deploy(t, v1, r1.Objects)
		if err != nil || r.MWAAUpdated || len(fake.Updates()) != 1 {
			t.Fatalf("err %v updated %v updates %d", err, r.MWAAUpdated, len(fake.Updates()))
		}
	})
	t.Run("a failed update is reported", func(t *testing.T) {
		fake.FailUpdates = true
		v2 := makeFiles(3, map[string]string{"dags/requirements.txt": "broken==0\n"})
		_, err := b.deploy(t, v2, r1.Objects)
		if !errors.Is(err, airflow.ErrMWAAUpdate) {
			t.Fatalf("want ErrMWAAUpdate, got %v", err)
		}
	})
}

func TestRootAndLayout(t *testing.T) {
	roots := []struct {
		patterns []string
		want     string
	}{
		{[]string{"dags/**/*.py"}, "dags"},
		{[]string{"airflow/dags/**/*.py", "airflow/requirements.txt"}, "airflow"},
		{[]string{"**/*.py"}, ""},
		{[]string{"a/b/**", "a/c/**"}, "a"},
	}
	for _, tc := range roots {
		t.Run(fmt.Sprint(tc.patterns), func(t *testing.T) {
			if got := airflow.Root(tc.patterns); got != tc.want {
				t.Fatalf("Root = %q, want %q", got, tc.want)
			}
		})
	}
	files := []release.File{{Path: "dags/a.py"}, {Path: "dags/sub/b.py"}, {Path: "dags/plugins.zip"}, {Path: "dags/sub/requirements.txt"}, {Path: "other/x.py"}}
	dags, env := airflow.Layout(files, "dags", airflow.Target{DagsPrefix: "dags"})
	var keys []string
	for _, w := range dags {
		keys = append(keys, w.Key)
	}
	if fmt.Sprint(keys) != "[dags/a.py dags/sub/b.py dags/sub/requirements.txt]" || len(env) != 1 || env[0].Key != "plugins.zip" {
		t.Fatalf("dags %v env %v", keys, env)
	}
}

// BenchmarkOneDAGChangeOf180 syncs 180 DAGs, changes one, and reports what
// the second sync moved against a full sync of the same files.
func BenchmarkOneDAGChangeOf180(b *testing.B) {
	var bytesUp, objects, full float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bk := newBucket(b)
		v1 := makeFiles(180, nil)
		r1, err := bk.deploy(b, v1, nil)
		if err != nil {
			b.Fatal(err)
		}
		full = float64(r1.BytesUploaded)
		v2 := makeFiles(180, map[string]string{"dags/pipeline_090.py": "from airflow import DAG\n# changed\n"})
		b.StartTimer()
		r2, err := bk.deploy(b, v2, r1.Objects)
		if err != nil {
			b.Fatal(err)
		}
		bytesUp, objects = float64(bk.faults.PutBytes.Load())-full, float64(len(r2.Uploaded))
	}
	b.ReportMetric(bytesUp, "bytes_uploaded")
	b.ReportMetric(objects, "objects_uploaded")
	b.ReportMetric(bytesUp/full, "ratio_vs_full_sync")
}

// TestKeepUnknownObjects adopts a bucket another process deployed to: with
// KeepUnknown the DAG it put there keeps running (left in place, listed,
// and not a verify failure), while DAGs Conveyor wrote and the release
// drops are still deleted; without it the prefix holds exactly the release.
func TestKeepUnknownObjects(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			b := newBucket(t)
			b.target.KeepUnknown = keep
			client := b.srv.Client(nil)
			const foreign = "dags/legacy_export.py"
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mwaa-dev"), Key: aws.String(foreign), Body: strings.NewReader("from airflow import DAG\n# deployed by hand\n")}); err != nil {
				t.Fatal(err)
			}
			r1, err := b.deploy(t, makeFiles(3, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			// The next release drops one of Conveyor's own DAGs.
			r2, err := b.deploy(t, makeFiles(3, map[string]string{"dags/pipeline_001.py": ""}), r1.Objects)
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.dep.List(ctx, b.target)
			if err != nil {
				t.Fatal(err)
			}
			_, foreignThere := got[foreign]
			_, droppedThere := got["dags/pipeline_001.py"]
			if droppedThere || !slices.Equal(r2.Deleted, []string{"dags/pipeline_001.py"}) {
				t.Fatalf("Conveyor's dropped DAG: still there %v, deleted %v", droppedThere, r2.Deleted)
			}
			if foreignThere != keep {
				t.Fatalf("the DAG deployed by hand is there: %v, want %v (deleted %v, kept %v)", foreignThere, keep, append(r1.Deleted, r2.Deleted...), r2.Kept)
			}
			if keep && (!slices.Equal(r1.Kept, []string{foreign}) || !slices.Equal(r2.Kept, []string{foreign})) {
				t.Fatalf("kept = %v then %v, want the hand-deployed DAG listed both times", r1.Kept, r2.Kept)
			}
		})
	}
}
