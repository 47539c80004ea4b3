package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/airflow/airflowtest"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/deploy/identity"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/deploy/warehouse/duckdb"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

const testRepoConfig = `version: 1
components:
  - name: dags
    kind: airflow
    owner: data-eng
    paths: ["dags/**/*.py"]
  - name: warehouse
    kind: dbt
    owner: data-eng
    project: dbt
    paths: ["dbt/**"]
environments:
  - name: dev
    region: eu-west-1
    deploy_role_arn: arn:aws:iam::111111111111:role/conveyor-deploy
    airflow: {mwaa_environment: parcelflow-dev, bucket: parcelflow-mwaa-dev}
    warehouse: {type: duckdb, schemas: [marts]}
  - name: staging
    region: eu-west-1
    deploy_role_arn: arn:aws:iam::222222222222:role/conveyor-deploy
    airflow: {mwaa_environment: parcelflow-staging, bucket: parcelflow-mwaa-staging}
    warehouse: {type: duckdb, schemas: [marts]}
  - name: prod
    region: eu-west-1
    deploy_role_arn: arn:aws:iam::333333333333:role/conveyor-deploy
    airflow: {mwaa_environment: parcelflow-prod, bucket: parcelflow-mwaa-prod}
    warehouse: {type: duckdb, schemas: [marts]}
deploy:
  artifact_bucket: parcelflow-conveyor-releases
  migrations: [dbt/migrations/orders.sql]
  smoke_sql: [dbt/smoke/no_negative_orders.sql]
`

// harness is the embedded-defaults world: a SQLite store, an in-process S3
// server with one versioned bucket per environment, a DuckDB file per
// environment, and the GitHub emulator behind the timeline writer.
type harness struct {
	t      testing.TB
	dir    string
	dsn    string
	db     *store.DB
	cfg    *config.RepoConfig
	s3     *artifacts.LocalS3
	faults *airflowtest.Faults
	client *s3.Client
	arts   artifacts.Store
	wh     map[string]*warehouse.DB
	emu    *githubemu.Emulator
	repo   *githubemu.Repo
	rep    Reporter
	opener *AWSOpener
	dags   int
}

type sharedWarehouse struct{ warehouse.Deployer }

func newHarness(t testing.TB, dags int) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, dir: t.TempDir(), wh: map[string]*warehouse.DB{}, dags: dags}
	h.dsn = "sqlite://" + filepath.Join(h.dir, "conveyor.db")
	db, err := store.Open(ctx, h.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	if h.cfg, err = config.ParseRepo(".conveyor.yml", []byte(testRepoConfig)); err != nil {
		t.Fatal(err)
	}
	h.s3, err = artifacts.StartLocalS3(func(next http.Handler) http.Handler {
		h.faults = airflowtest.NewFaults(next)
		return h.faults
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.s3.Close() })
	h.client = h.s3.Client(nil)
	if err := artifacts.EnsureBucket(ctx, h.client, "parcelflow-conveyor-releases", false); err != nil {
		t.Fatal(err)
	}
	h.arts = &artifacts.S3{Client: h.client, Bucket: "parcelflow-conveyor-releases", Prefix: "releases"}
	for _, env := range h.cfg.Environments {
		if err := artifacts.EnsureBucket(ctx, h.client, env.Airflow.Bucket, true); err != nil {
			t.Fatal(err)
		}
		w, err := duckdb.Open(filepath.Join(h.dir, env.Name+".duckdb"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		// Each warehouse knows its own name, so a release can behave
		// differently per environment (see the staging smoke failure test).
		for _, s := range []string{"CREATE SCHEMA ops", "CREATE TABLE ops.env (name VARCHAR)", "INSERT INTO ops.env VALUES ('" + env.Name + "')"} {
			if err := w.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		h.wh[env.Name] = w
	}
	h.emu = githubemu.New(githubemu.Options{})
	_, stop := h.emu.Start()
	t.Cleanup(stop)
	h.repo = h.emu.CreateRepo("parcelflow", "data-platform", "main")
	h.rep = &TimelineReporter{W: timeline.New(h.emu.Client(), "parcelflow", "data-platform", timeline.NewRedactor()), Config: h.cfg}
	h.opener = &AWSOpener{
		Identity:   identity.Static{},
		S3Endpoint: h.s3.URL,
		NoMWAA:     true,
		Warehouse: func(_ context.Context, env *config.Environment) (warehouse.Deployer, error) {
			return sharedWarehouse{h.wh[env.Name]}, nil
		},
		Executor:         func(*config.Environment, aws.Config) executor.Executor { return &executor.Local{} },
		Parallel:         8,
		RetryMaxAttempts: 2,
	}
	return h
}

func (h *harness) engine(holder string, lease time.Duration) *Engine {
	h.t.Helper()
	return h.repoEngine("parcelflow/data-platform", holder, lease)
}

// repoEngine is an engine deploying repo's environments.
func (h *harness) repoEngine(repo, holder string, lease time.Duration) *Engine {
	h.t.Helper()
	e, err := New(Options{
		DB: h.db, Repo: repo, Config: h.cfg, Artifacts: h.arts, Targets: h.opener, Reporter: h.rep,
		WorkDir: filepath.Join(h.dir, "work"), Lease: lease, Holder: holder,
		LogURL: func(id string) string { return "https://conveyor.example/deployments/" + id },
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

// version is one state of the data repo: every DAG at generation gen,
// except those listed in changed, and the orders table built by sql.
type version struct {
	gen     int
	changed map[int]string
	removed map[int]bool
	orders  string
}

const ordersV1 = `SELECT * FROM (VALUES (1, 10), (2, 20)) t(id, amount)`

func (h *harness) tree(v version) map[string]string {
	files := map[string]string{}
	for i := 0; i < h.dags; i++ {
		if v.removed[i] {
			continue
		}
		c := fmt.Sprintf("from airflow import DAG\n\nwith DAG(dag_id=\"pipeline_%03d\", schedule=\"@daily\", catchup=False):\n    pass\n# %s\n", i, strings.Repeat("x", 700))
		if s, ok := v.changed[i]; ok {
			c = s
		}
		files[fmt.Sprintf("dags/pipeline_%03d.py", i)] = c
	}
	orders := v.orders
	if orders == "" {
		orders = ordersV1
	}
	files["dbt/migrations/orders.sql"] = "CREATE SCHEMA IF NOT EXISTS marts;\nCREATE OR REPLACE TABLE marts.orders AS " + orders + ";\n"
	files["dbt/smoke/no_negative_orders.sql"] = "SELECT * FROM marts.orders WHERE amount < 0\n"
	files["dbt/models/orders.sql"] = "select 1 as id -- " + orders + "\n"
	return files
}

// build commits the tree to the emulated repo, builds, publishes and registers its release.
func (h *harness) build(e *Engine, v version, risk string, pr int) *release.Release {
	h.t.Helper()
	files := h.tree(v)
	sha := h.repo.Commit("main", files, fmt.Sprintf("release %d", v.gen), "alice")
	tree := mapTree{}
	for k, c := range files {
		tree[k] = []byte(c)
	}
	rel, err := release.Build(tree, h.cfg, release.Meta{SHA: sha, PR: pr, Risk: risk, Checks: []release.Check{{Name: "conveyor/airflow", Conclusion: "success"}}}, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := release.Publish(context.Background(), h.arts, rel, tree); err != nil {
		h.t.Fatal(err)
	}
	if err := e.Register(context.Background(), rel); err != nil {
		h.t.Fatal(err)
	}
	return rel
}

type mapTree map[string][]byte

func (t mapTree) Files() []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	return out
}

func (t mapTree) ReadFile(p string) ([]byte, error) { return t[p], nil }

// bucket reads every object under dags/ of env and hashes its bytes.
func (h *harness) bucket(env string) map[string]string {
	h.t.Helper()
	e, _ := h.cfg.Environment(env)
	ctx := context.Background()
	d := &airflow.Deployer{S3: h.client}
	objs, err := d.List(ctx, airflow.Target{Bucket: e.Airflow.Bucket})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := h.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.Airflow.Bucket), Key: aws.String(k)})
			if err != nil {
				h.t.Error(err)
				return
			}
			b, _ := io.ReadAll(o.Body)
			o.Body.Close()
			sum := sha256.Sum256(b)
			mu.Lock()
			out[k] = hex.EncodeToString(sum[:])
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// want is the DAG part of a release as bucket keys and hashes.
func want(rel *release.Release) map[string]string {
	out := map[string]string{}
	for _, f := range rel.FilesOf("dags") {
		out[f.Path] = f.SHA256 // the component root is dags/, the prefix dags/
	}
	return out
}

func (h *harness) assertBucket(env string, rel *release.Release) {
	h.t.Helper()
	got, w := h.bucket(env), want(rel)
	if diff := mapDiff(got, w); diff != "" {
		h.t.Fatalf("bucket of %s is not release %s: %s", env, rel.Short(), diff)
	}
}

func mapDiff(got, want map[string]string) string {
	var out []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			out = append(out, "missing "+k)
		} else if g != v {
			out = append(out, "different "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, "extra "+k)
		}
	}
	sort.Strings(out)
	if len(out) > 6 {
		out = append(out[:6], fmt.Sprintf("… %d more", len(out)-6))
	}
	return strings.Join(out, ", ")
}

// orders reads marts.orders of env as "id:amount" pairs.
func (h *harness) orders(env string) string {
	h.t.Helper()
	rows, err := h.wh[env].Query(context.Background(), "SELECT id, amount FROM marts.orders ORDER BY id")
	if err != nil {
		return "error: " + err.Error()
	}
	var out []string
	for _, r := range rows.Values {
		out = append(out, fmt.Sprintf("%v:%v", r[0], r[1]))
	}
	return strings.Join(out, " ")
}
