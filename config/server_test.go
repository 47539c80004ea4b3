package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func envMap(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseServerDefaults(t *testing.T) {
	cfg, err := ParseServer("conveyor.yml", []byte("github:\n  app_id: 42\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Listen, DefaultListen},
		{"api url", cfg.GitHub.APIURL, DefaultGitHubAPIURL},
		{"dsn", cfg.Store.DSN, DefaultStoreDSN},
		{"shutdown", cfg.ShutdownTimeout.D(), 20 * time.Second},
		{"workers", cfg.Inbox.Workers, 4},
		{"max attempts", cfg.Inbox.MaxAttempts, 8},
		{"retention", cfg.Inbox.Retention.D(), 14 * 24 * time.Hour},
		{"log", cfg.Log, LogConfig{Level: "info", Format: "json"}},
		{"graphql", cfg.GitHubGraphQLURL(), "https://api.github.com/graphql"},
		{"deploy mode", cfg.Deploy.Mode, DeployEmbedded},
		{"deploy work dir", cfg.Deploy.WorkDir, DefaultDeployWorkDir},
		{"deploy lease", cfg.Deploy.Lease.D(), DefaultDeployLease},
		{"deploy lock ttl", cfg.Deploy.LockTTL.D(), DefaultDeployLockTTL},
		{"deploy timeout", cfg.Deploy.Timeout.D(), DefaultDeployTimeout},
		{"deploy executor", cfg.Deploy.Executor.Type, "local"},
		{"deploy mwaa", cfg.Deploy.MWAAOn(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestParseServerEnvOverrides(t *testing.T) {
	file := `
listen: ":9000"
github:
  app_id: 1
  webhook_secrets: [from-file]
  api_url: https://ghe.example.com/api/v3
store:
  dsn: sqlite://./x.db
`
	cfg, err := ParseServer("conveyor.yml", []byte(file), envMap(map[string]string{
		EnvGitHubAppID:          "123",
		EnvGitHubPrivateKeyFile: "/keys/app.pem",
		EnvWebhookSecrets:       "new-secret,old-secret",
		EnvListen:               "127.0.0.1:8443",
		EnvStoreDSN:             "postgres://conveyor@db/conveyor",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GitHub.AppID != 123 || cfg.GitHub.PrivateKeyFile != "/keys/app.pem" || cfg.Listen != "127.0.0.1:8443" ||
		cfg.Store.DSN != "postgres://conveyor@db/conveyor" {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
	if got := cfg.WebhookSecretValues(); strings.Join(got, "|") != "new-secret|old-secret" {
		t.Fatalf("secrets = %v", got)
	}
	if got := cfg.GitHubGraphQLURL(); got != "https://ghe.example.com/api/graphql" {
		t.Fatalf("Enterprise GraphQL URL = %s", got)
	}
}

func TestParseServerErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want []string // substrings of the error, in order
	}{
		{"unknown key", "github:\n  app_idd: 1\n", nil, []string{"conveyor.yml:2:3: github.app_idd: unknown key"}},
		{"unknown top-level key", "listen: :80\nworkers: 3\n", nil, []string{"conveyor.yml:2:1: workers: unknown key"}},
		{"wrong type", "github:\n  app_id: abc\n", nil, []string{"conveyor.yml:2:11: github.app_id: expected a int64"}},
		{"bad duration", "shutdown_timeout: soon\n", nil, []string{"conveyor.yml:1:19: shutdown_timeout:", "expected a duration"}},
		{"bad listen", "listen: localhost\n", nil, []string{"conveyor.yml:1:9: listen: expected host:port"}},
		{"bad port", "listen: ':99999'\n", nil, []string{"conveyor.yml:1:9: listen: port must be"}},
		{"bad api url", "github:\n  api_url: ftp://x\n", nil, []string{"conveyor.yml:2:12: github.api_url: expected an http(s) URL"}},
		{"bad dsn", "store:\n  dsn: mysql://root:pw@x/db\n", nil, []string{"conveyor.yml:2:8: store.dsn:", `"mysql:"`}},
		{"workers out of range", "inbox:\n  workers: 1000\n", nil, []string{"conveyor.yml:2:12: inbox.workers: must be from 1 to 256"}},
		{"backoff max below base", "inbox:\n  backoff_base: 1m\n  backoff_max: 10s\n", nil, []string{"conveyor.yml:3:16: inbox.backoff_max: must be at least backoff_base"}},
		{"negative duration", "inbox:\n  lease: -5s\n", nil, []string{"conveyor.yml:2:10: inbox.lease: must be positive"}},
		{"log level", "log:\n  level: loud\n", nil, []string{"conveyor.yml:2:10: log.level: expected debug"}},
		{"empty secret in file", "github:\n  webhook_secrets: ['']\n", nil, []string{"conveyor.yml:2:21: github.webhook_secrets[0]: secret 1 is empty"}},
		{"secret with newline", "github:\n  webhook_secrets: [\"abc\\n\"]\n", nil, []string{"github.webhook_secrets[0]: secret 1 has leading or trailing whitespace"}},
		{"bad app id from env", "", map[string]string{EnvGitHubAppID: "twelve"}, []string{"$CONVEYOR_GITHUB_APP_ID: github.app_id: expected an integer"}},
		{"empty secret from env", "", map[string]string{EnvWebhookSecrets: "a,,b"}, []string{"$CONVEYOR_WEBHOOK_SECRETS: github.webhook_secrets: secret 2 is empty"}},
		{"bad dsn from env", "", map[string]string{EnvStoreDSN: "file.db"}, []string{"$CONVEYOR_STORE_DSN: store.dsn:"}},
		{"deploy mode", "deploy:\n  mode: cloud\n", nil, []string{"conveyor.yml:2:9: deploy.mode: expected embedded or aws"}},
		{"deploy artifacts both", "deploy:\n  artifacts:\n    dir: /a\n    s3: s3://b/p\n", nil, []string{"conveyor.yml:4:9: deploy.artifacts.s3: set either"}},
		{"deploy artifacts bad url", "deploy:\n  artifacts:\n    s3: https://b/p\n", nil, []string{"conveyor.yml:3:9: deploy.artifacts.s3: expected s3://BUCKET/PREFIX"}},
		{"deploy aws without artifacts", "deploy:\n  mode: aws\n", nil, []string{"conveyor.yml:2:9: deploy.mode: aws mode needs artifacts.s3"}},
		{"deploy lease too short", "deploy:\n  lease: 10ms\n", nil, []string{"conveyor.yml:2:10: deploy.lease: must be at least 1s"}},
		{"deploy timeout too short", "deploy:\n  timeout: 30s\n", nil, []string{"conveyor.yml:2:12: deploy.timeout: must be at least 1m"}},
		{"deploy executor type", "deploy:\n  executor:\n    type: lambda\n", nil, []string{"conveyor.yml:3:11: deploy.executor.type: expected local or codebuild"}},
		{"deploy codebuild on embedded", "deploy:\n  executor:\n    type: codebuild\n    codebuild_project: p\n", nil, []string{"conveyor.yml:3:11: deploy.executor.type: codebuild runs in the environments' AWS accounts"}},
		{"deploy codebuild without project", "deploy:\n  mode: aws\n  artifacts: {s3: 's3://b/r'}\n  executor:\n    type: codebuild\n", nil, []string{"conveyor.yml:5:11: deploy.executor.type: codebuild needs executor.codebuild_project"}},
		{"deploy project with local", "deploy:\n  executor:\n    codebuild_project: p\n", nil, []string{"conveyor.yml:3:24: deploy.executor.codebuild_project: only used with executor type codebuild"}},
		{"deploy unknown key", "deploy:\n  bucket: x\n", nil, []string{"conveyor.yml:2:3: deploy.bucket: unknown key"}},
		{"snowflake on embedded", "deploy:\n  snowflake:\n    prod: {user: u, password_env: PW}\n", nil, []string{"conveyor.yml:3:5: deploy.snowflake: Snowflake logins are used in aws mode"}},
		{"snowflake literal secret", "deploy:\n  mode: aws\n  artifacts: {s3: 's3://b/r'}\n  snowflake:\n    prod:\n      user: u\n      password_env: 'hunter2!'\n", nil, []string{"conveyor.yml:7:21: deploy.snowflake.prod.password_env: expected the name of an environment variable"}},
		{"snowflake two sources", "deploy:\n  mode: aws\n  artifacts: {s3: 's3://b/r'}\n  snowflake:\n    prod: {user: u, password_env: PW, private_key_env: KEY}\n", nil, []string{"conveyor.yml:5:11: deploy.snowflake.prod: set exactly one of"}},
		{"snowflake no user", "deploy:\n  mode: aws\n  artifacts: {s3: 's3://b/r'}\n  snowflake:\n    prod: {password_env: PW}\n", nil, []string{"conveyor.yml:5:11: deploy.snowflake.prod: user is required"}},
		{"snowflake bad arn", "deploy:\n  mode: aws\n  artifacts: {s3: 's3://b/r'}\n  snowflake:\n    prod: {user: u, secret_arn: 'arn:aws:s3:::b'}\n", nil, []string{"deploy.snowflake.prod.secret_arn: expected a Secrets Manager ARN"}},
		{"several problems, in file order", "listen: nope\ninbox:\n  max_attempts: -1\n", nil, []string{"conveyor.yml:1:9: listen", "conveyor.yml:3:17: inbox.max_attempts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseServer("conveyor.yml", []byte(tt.file), envMap(tt.env))
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (in order)", msg, w)
				}
				at += i + len(w)
			}
			if len(AsErrors(err)) == 0 {
				t.Fatalf("error is not a located config error: %T", err)
			}
		})
	}
}

func TestParseServerDeployAWS(t *testing.T) {
	file := `
deploy:
  mode: aws
  work_dir: /var/lib/conveyor/deploy
  artifacts:
    s3: s3://parcelflow-conveyor-releases/releases/
  lease: 90s
  mwaa: false
  executor:
    type: codebuild
    codebuild_project: conveyor-deploy
  snowflake:
    prod: {user: CONVEYOR_DEPLOY, secret_arn: "arn:aws:secretsmanager:eu-west-1:333333333333:secret:conveyor/snowflake-prod"}
    dev: {user: CONVEYOR_DEPLOY, password_env: SNOWFLAKE_DEV_PASSWORD}
`
	cfg, err := ParseServer("conveyor.yml", []byte(file), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Deploy
	bucket, prefix, err := d.Artifacts.S3Location()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"mode", d.Mode, DeployAWS},
		{"work dir", d.WorkDir, "/var/lib/conveyor/deploy"},
		{"bucket", bucket, "parcelflow-conveyor-releases"},
		{"prefix", prefix, "releases"},
		{"lease", d.Lease.D(), 90 * time.Second},
		{"mwaa", d.MWAAOn(), false},
		{"executor", d.Executor, ExecutorConfig{Type: "codebuild", CodeBuildProject: "conveyor-deploy"}},
		{"prod login", d.Snowflake["prod"].SecretARN, "arn:aws:secretsmanager:eu-west-1:333333333333:secret:conveyor/snowflake-prod"},
		{"dev login", d.Snowflake["dev"].PasswordEnv, "SNOWFLAKE_DEV_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestCheckServe(t *testing.T) {
	key := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(key, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"complete", map[string]string{EnvGitHubAppID: "1", EnvGitHubPrivateKeyFile: key, EnvWebhookSecrets: "s"}, nil},
		{"no secret", map[string]string{EnvGitHubAppID: "1", EnvGitHubPrivateKeyFile: key},
			[]string{"github.webhook_secrets: required"}},
		{"nothing", nil, []string{"github.app_id: required", "github.private_key_file: required", "github.webhook_secrets: required"}},
		{"missing key file", map[string]string{EnvGitHubAppID: "1", EnvGitHubPrivateKeyFile: key + ".missing", EnvWebhookSecrets: "s"},
			[]string{"github.private_key_file: cannot read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseServer("conveyor.yml", nil, envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.CheckServe()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg, err := ParseServer("conveyor.yml", []byte("github:\n  webhook_secrets: [hunter2-secret]\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(cfg)
	y, _ := yaml.Marshal(cfg)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"%s": fmt.Sprintf("%s", cfg.GitHub.WebhookSecrets), "json": string(j), "yaml": string(y),
	} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s output leaks the secret: %s", name, out)
		}
	}
	if cfg.WebhookSecretValues()[0] != "hunter2-secret" {
		t.Fatal("Reveal lost the secret")
	}
}

// TestExampleServerConfig keeps the documented example loadable.
func TestExampleServerConfig(t *testing.T) {
	cfg, err := LoadServer(filepath.Join("..", "conveyor.example.yml"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GitHub.AppID == 0 || cfg.Store.DSN == "" {
		t.Fatalf("example config lost its values: %+v", cfg)
	}
}

func FuzzParseServer(f *testing.F) {
	f.Add([]byte("listen: :8080\ngithub:\n  app_id: 1\n"))
	f.Add([]byte("inbox:\n  workers: 2\n  backoff_base: 1s\n"))
	f.Add([]byte("github: [1, 2]\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseServer("f.yml", data, envMap(nil))
		if err == nil && cfg == nil {
			t.Fatal("nil config without an error")
		}
		if err != nil && len(AsErrors(err)) == 0 {
			t.Fatalf("unlocated error: %v", err)
		}
	})
}
