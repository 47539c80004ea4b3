package app

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/deploy/identity"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/deploy/warehouse/duckdb"
)

// EmbeddedOptions tune the embedded deploy targets.
type EmbeddedOptions struct {
	// Dir holds a DuckDB file per environment and the materialized releases.
	Dir string
	// ArtifactBucket, when set, stores releases in that bucket of the local
	// S3 server (under ArtifactPrefix); otherwise Artifacts is used.
	ArtifactBucket, ArtifactPrefix string
	// Artifacts stores releases when ArtifactBucket is empty (default: a
	// directory under Dir, so releases outlive a restart).
	Artifacts artifacts.Store
	// Lease is the environment lock's lease (default 2 min).
	Lease time.Duration
	// WrapS3 wraps the local S3 server's handler (tests inject faults there).
	WrapS3 func(http.Handler) http.Handler
}

// Embedded is the deploy side on embedded defaults: an in-process
// S3-compatible server standing in for the environments' MWAA buckets, a
// DuckDB file per environment standing in for the warehouse, and the local
// executor. `conveyor serve` (deploy.mode: embedded), the demo and the
// end-to-end tests all build it here.
type Embedded struct {
	// Deploy goes into Options.Deploy.
	Deploy *DeployOptions
	// S3 is the local S3 server; its buckets are in memory, so a restart
	// starts them empty and the next deployment syncs every object again.
	S3 *artifacts.LocalS3
}

// Close stops the local S3 server.
func (e *Embedded) Close() { _ = e.S3.Close() }

// EmbeddedDeploys starts the embedded deploy targets. Each environment's
// DAG bucket is created (versioned) on the local S3 server the first time a
// deployment opens that environment, so the repo's config alone decides them.
func EmbeddedDeploys(ctx context.Context, opts EmbeddedOptions) (*Embedded, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("app: embedded deploys need a directory")
	}
	ls3, err := artifacts.StartLocalS3(opts.WrapS3)
	if err != nil {
		return nil, err
	}
	c := ls3.Client(nil)
	store := opts.Artifacts
	switch {
	case opts.ArtifactBucket != "":
		if err := artifacts.EnsureBucket(ctx, c, opts.ArtifactBucket, false); err != nil {
			ls3.Close()
			return nil, err
		}
		store = &artifacts.S3{Client: c, Bucket: opts.ArtifactBucket, Prefix: opts.ArtifactPrefix}
	case store == nil:
		store = artifacts.Dir{Root: filepath.Join(opts.Dir, "artifacts")}
	}
	opener := &bucketsOnOpen{
		ensure: func(ctx context.Context, bucket string) error { return artifacts.EnsureBucket(ctx, c, bucket, true) },
		next: &deploy.AWSOpener{
			Identity:   identity.Static{},
			S3Endpoint: ls3.URL,
			NoMWAA:     true,
			Warehouse: func(_ context.Context, env *config.Environment) (warehouse.Deployer, error) {
				return duckdb.Open(filepath.Join(opts.Dir, env.Name+".duckdb"))
			},
			Executor: func(*config.Environment, aws.Config) executor.Executor { return &executor.Local{} },
			Parallel: 8,
		},
	}
	return &Embedded{
		S3: ls3,
		Deploy: &DeployOptions{
			Artifacts: store,
			Targets:   opener,
			WorkDir:   filepath.Join(opts.Dir, "releases"),
			Lease:     opts.Lease,
		},
	}, nil
}

// bucketsOnOpen creates an environment's DAG bucket on the local S3 server
// before its first deployment; on AWS the bucket belongs to the account.
type bucketsOnOpen struct {
	ensure func(ctx context.Context, bucket string) error
	next   deploy.Opener
	mu     sync.Mutex
	made   map[string]bool
}

func (o *bucketsOnOpen) Open(ctx context.Context, env *config.Environment, s identity.Session) (*deploy.Targets, error) {
	if b := env.Airflow.Bucket; b != "" {
		o.mu.Lock()
		done := o.made[b]
		o.mu.Unlock()
		if !done {
			if err := o.ensure(ctx, b); err != nil {
				return nil, err
			}
			o.mu.Lock()
			if o.made == nil {
				o.made = map[string]bool{}
			}
			o.made[b] = true
			o.mu.Unlock()
		}
	}
	return o.next.Open(ctx, env, s)
}
