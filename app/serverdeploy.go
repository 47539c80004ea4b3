package app

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/deploy/identity"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/deploy/warehouse/duckdb"
	"github.com/parcelflow/conveyor/deploy/warehouse/snowflake"
)

// ServerDeploys builds the deploy side `conveyor serve` runs from the
// server config's deploy section: the embedded targets, or AWS (each
// environment's deploy role assumed from the default AWS config, MWAA,
// Snowflake and the chosen executor). close releases what it started.
func ServerDeploys(ctx context.Context, c config.DeployConfig, lookup config.LookupEnv) (opts *DeployOptions, close func(), err error) {
	switch c.Mode {
	case config.DeployEmbedded, "":
		eo := EmbeddedOptions{Dir: c.WorkDir, Lease: c.Lease.D()}
		if c.Artifacts.Dir != "" {
			eo.Artifacts = artifacts.Dir{Root: c.Artifacts.Dir}
		}
		if c.Artifacts.S3 != "" {
			if eo.ArtifactBucket, eo.ArtifactPrefix, err = c.Artifacts.S3Location(); err != nil {
				return nil, nil, err
			}
		}
		emb, err := EmbeddedDeploys(ctx, eo)
		if err != nil {
			return nil, nil, err
		}
		emb.Deploy.LockTTL = c.LockTTL.D()
		return emb.Deploy, emb.Close, nil
	case config.DeployAWS:
		opts, err := awsDeploys(ctx, c, lookup)
		return opts, func() {}, err
	default:
		return nil, nil, fmt.Errorf("app: unknown deploy mode %q", c.Mode)
	}
}

func awsDeploys(ctx context.Context, c config.DeployConfig, lookup config.LookupEnv) (*DeployOptions, error) {
	base, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: loading Conveyor's own AWS identity: %w", err)
	}
	bucket, prefix, err := c.Artifacts.S3Location()
	if err != nil {
		return nil, fmt.Errorf("app: deploy.artifacts.s3: %w", err)
	}
	logins := &snowflakeLogins{logins: c.Snowflake, lookup: lookup, secrets: secretsmanager.NewFromConfig(base)}
	opener := &deploy.AWSOpener{
		Identity: &identity.AssumeRole{Base: base},
		NoMWAA:   !c.MWAAOn(),
		Warehouse: func(ctx context.Context, env *config.Environment) (warehouse.Deployer, error) {
			switch env.Warehouse.Type {
			case "":
				return nil, nil
			case "duckdb":
				path := env.Warehouse.Path
				if path == "" {
					path = filepath.Join(c.WorkDir, env.Name+".duckdb")
				}
				return duckdb.Open(path)
			case "snowflake":
				sc, err := logins.config(ctx, env)
				if err != nil {
					return nil, err
				}
				return snowflake.Open(sc)
			default:
				return nil, fmt.Errorf("warehouse type %q is not supported", env.Warehouse.Type)
			}
		},
		Executor: func(env *config.Environment, cfg aws.Config) executor.Executor {
			if c.Executor.Type == "codebuild" {
				return &executor.CodeBuild{Client: codebuild.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg), Project: c.Executor.CodeBuildProject}
			}
			return &executor.Local{}
		},
		Parallel: 16,
	}
	return &DeployOptions{
		Artifacts: &artifacts.S3{Client: s3.NewFromConfig(base), Bucket: bucket, Prefix: prefix},
		Targets:   opener,
		WorkDir:   filepath.Join(c.WorkDir, "releases"),
		Lease:     c.Lease.D(),
		LockTTL:   c.LockTTL.D(),
	}, nil
}

// secretValues reads a Secrets Manager secret (narrowed for tests).
type secretValues interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// snowflakeLogins resolves an environment's Snowflake login from the server
// config: the secret is read when a deployment opens the warehouse, from the
// named environment variable or Secrets Manager secret.
type snowflakeLogins struct {
	logins  map[string]config.SnowflakeLogin
	lookup  config.LookupEnv
	secrets secretValues
}

func (s *snowflakeLogins) config(ctx context.Context, env *config.Environment) (snowflake.Config, error) {
	l, ok := s.logins[env.Name]
	if !ok {
		return snowflake.Config{}, fmt.Errorf("the server config has no deploy.snowflake.%s login for this Snowflake warehouse", env.Name)
	}
	w := env.Warehouse
	sc := snowflake.Config{Account: w.Account, User: l.User, Database: w.Database, Warehouse: w.Warehouse, Role: w.Role}
	var secret, from string
	switch {
	case l.PasswordEnv != "" || l.PrivateKeyEnv != "":
		from = l.PasswordEnv + l.PrivateKeyEnv
		v, ok := s.lookup(from)
		if !ok || v == "" {
			return sc, fmt.Errorf("deploy.snowflake.%s: environment variable %s is not set", env.Name, from)
		}
		secret = v
	case l.SecretARN != "":
		from = l.SecretARN
		out, err := s.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(l.SecretARN)})
		if err != nil {
			return sc, fmt.Errorf("deploy.snowflake.%s: reading secret %s: %w", env.Name, l.SecretARN, err)
		}
		secret = aws.ToString(out.SecretString)
	default:
		return sc, fmt.Errorf("deploy.snowflake.%s names no password or key", env.Name)
	}
	if l.PrivateKeyEnv != "" || strings.HasPrefix(strings.TrimSpace(secret), "-----BEGIN") {
		k, err := parsePrivateKey([]byte(secret))
		if err != nil {
			return sc, fmt.Errorf("deploy.snowflake.%s: the key in %s: %w", env.Name, from, err)
		}
		sc.PrivateKey = k
		return sc, nil
	}
	sc.Password = secret
	return sc, nil
}

// parsePrivateKey reads an RSA key in PKCS#8 or PKCS#1 PEM.
func parsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("not a PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("expected an RSA key, got %T", k)
	}
	return rk, nil
}
