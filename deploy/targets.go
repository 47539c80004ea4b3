package deploy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	kaws "github.com/twmb/franz-go/pkg/sasl/aws"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/deploy/identity"
	"github.com/parcelflow/conveyor/deploy/streaming"
	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// Targets are the clients of one environment, opened for one deployment
// with that deployment's identity (so every AWS call is attributed to the
// person behind it).
type Targets struct {
	// Airflow is nil when the environment has no bucket.
	Airflow       *airflow.Deployer
	AirflowTarget airflow.Target
	// Warehouse is nil when the environment has no warehouse.
	Warehouse warehouse.Deployer
	// Executor runs component commands; nil means commands are not run.
	Executor executor.Executor
	// Env holds variables (often secrets) passed to every command; masked in output.
	Env map[string]string
	// Kafka reads consumer group offsets of the environment's cluster; nil
	// when the environment names no brokers.
	Kafka streaming.Admin
	// AirflowCLI runs Airflow commands in the environment's MWAA (backfills);
	// nil when the environment has no MWAA scheduler to reach.
	AirflowCLI *airflow.CLI
	// Close releases what Open acquired.
	Close func()
}

// Opener opens an environment's targets.
type Opener interface {
	Open(ctx context.Context, env *config.Environment, s identity.Session) (*Targets, error)
}

// AWSOpener opens targets through the AWS SDK: per-environment credentials
// from Identity, S3 and MWAA clients, the warehouse and the executor.
// On embedded defaults Identity is identity.Static, S3Endpoint a local
// S3-compatible server and MWAA is off.
type AWSOpener struct {
	Identity identity.Provider
	// S3Endpoint and MWAAEndpoint override AWS's endpoints (local servers, tests).
	S3Endpoint   string
	MWAAEndpoint string
	// NoMWAA skips MWAA even when an environment names one (embedded defaults).
	NoMWAA     bool
	HTTPClient *http.Client
	// Warehouse opens the environment's warehouse (nil: no warehouse step).
	Warehouse func(ctx context.Context, env *config.Environment) (warehouse.Deployer, error)
	// Executor returns the environment's executor, given its AWS config (nil: commands are not run).
	Executor func(env *config.Environment, cfg aws.Config) executor.Executor
	// Env returns the variables passed to commands in env.
	Env func(env *config.Environment) map[string]string
	// MWAAPoll is how often MWAA is polled during an update (default 30 s).
	MWAAPoll time.Duration
	// Parallel bounds concurrent uploads.
	Parallel int
	// RetryMaxAttempts overrides the SDK's attempts per S3 call (0: SDK default).
	RetryMaxAttempts int
}

// Open builds env's targets for session s.
func (o *AWSOpener) Open(ctx context.Context, env *config.Environment, s identity.Session) (*Targets, error) {
	cfg, err := o.Identity.Config(ctx, env, s)
	if err != nil {
		return nil, fmt.Errorf("deploy: credentials for %s: %w", env.Name, err)
	}
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	t := &Targets{Close: func() {}}
	if env.Airflow.Bucket != "" {
		dep := &airflow.Deployer{
			S3: artifacts.NewClient(o.S3Endpoint, cfg.Region, cfg.Credentials, o.HTTPClient, func(so *s3.Options) {
				if o.RetryMaxAttempts > 0 {
					so.RetryMaxAttempts = o.RetryMaxAttempts
				}
			}),
			Parallel:     o.Parallel,
			PollInterval: o.MWAAPoll,
		}
		t.AirflowTarget = airflow.Target{Bucket: env.Airflow.Bucket, DagsPrefix: env.Airflow.DagsPrefix, KeepUnknown: env.Airflow.KeepUnknownObjects}
		if env.Airflow.MWAAEnvironment != "" && !o.NoMWAA {
			client := airflow.NewMWAAClient(cfg, o.MWAAEndpoint)
			dep.MWAA = client
			t.AirflowTarget.MWAAEnvironment = env.Airflow.MWAAEnvironment
			t.AirflowCLI = &airflow.CLI{Tokens: client, HTTP: o.HTTPClient}
		}
		t.Airflow = dep
	}
	if len(env.Kafka.Brokers) > 0 {
		adm, closeKafka, err := openKafka(env, cfg)
		if err != nil {
			return nil, fmt.Errorf("deploy: Kafka of %s: %w", env.Name, err)
		}
		t.Kafka = adm
		t.Close = closeKafka
	}
	if o.Warehouse != nil {
		w, err := o.Warehouse(ctx, env)
		if err != nil {
			t.Close() // what was opened before it (Kafka)
			return nil, fmt.Errorf("deploy: opening the warehouse of %s: %w", env.Name, err)
		}
		t.Warehouse = w
		if c, ok := w.(interface{ Close() error }); ok {
			prev := t.Close
			t.Close = func() { _ = c.Close(); prev() }
		}
	}
	if o.Executor != nil {
		t.Executor = o.Executor(env, cfg)
	}
	if o.Env != nil {
		t.Env = o.Env(env)
	}
	return t, nil
}

// openKafka connects an admin client to env's brokers: over TLS with MSK's
// IAM authentication under the environment's credentials when env asks for
// it, in plain text otherwise.
func openKafka(env *config.Environment, cfg aws.Config) (streaming.Admin, func(), error) {
	opts := []kgo.Opt{kgo.SeedBrokers(env.Kafka.Brokers...)}
	if env.Kafka.IAM {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}),
			kgo.SASL(kaws.ManagedStreamingIAM(func(ctx context.Context) (kaws.Auth, error) {
				c, err := cfg.Credentials.Retrieve(ctx)
				if err != nil {
					return kaws.Auth{}, err
				}
				return kaws.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken, UserAgent: "conveyor"}, nil
			})))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl.Close, nil
}
