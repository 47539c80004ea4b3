package config

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Server config defaults.
const (
	DefaultListen          = ":8080"
	DefaultGitHubAPIURL    = "https://api.github.com/"
	DefaultStoreDSN        = "sqlite://./data/conveyor.db" // the same as store.DefaultDSN
	DefaultShutdownTimeout = 20 * time.Second
)

// Environment variables that override the server config file; secrets
// belong there rather than in the file.
const (
	EnvGitHubAppID          = "CONVEYOR_GITHUB_APP_ID"
	EnvGitHubPrivateKeyFile = "CONVEYOR_GITHUB_PRIVATE_KEY_FILE"
	EnvWebhookSecrets       = "CONVEYOR_WEBHOOK_SECRETS" // comma-separated, for rotation
	EnvGitHubAPIURL         = "CONVEYOR_GITHUB_API_URL"
	EnvListen               = "CONVEYOR_LISTEN"
	EnvStoreDSN             = "CONVEYOR_STORE_DSN"
)

// ServerConfig is the server's own YAML file (`conveyor serve --config FILE`).
type ServerConfig struct {
	// Listen is the HTTP listen address, host:port (":8080").
	Listen string `yaml:"listen"`
	// ShutdownTimeout bounds a graceful shutdown: in-flight work that has not
	// finished by then is left for the next start.
	ShutdownTimeout Duration     `yaml:"shutdown_timeout"`
	Log             LogConfig    `yaml:"log"`
	GitHub          GitHubApp    `yaml:"github"`
	Store           StoreConfig  `yaml:"store"`
	Inbox           InboxConfig  `yaml:"inbox"`
	Deploy          DeployConfig `yaml:"deploy"`

	// File is the path the config was read from.
	File string `yaml:"-"`
}

// LogConfig chooses the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or console
}

// GitHubApp identifies the GitHub App and where its API lives.
type GitHubApp struct {
	AppID          int64  `yaml:"app_id"`
	PrivateKeyFile string `yaml:"private_key_file"`
	// WebhookSecrets are every secret a delivery may be signed with; several
	// at once let a secret be rotated without downtime.
	WebhookSecrets []Secret `yaml:"webhook_secrets"`
	// APIURL is the REST API base: https://api.github.com/ or
	// https://HOST/api/v3/ for GitHub Enterprise Server.
	APIURL string `yaml:"api_url"`
}

// StoreConfig says where state lives.
type StoreConfig struct {
	// DSN is sqlite://PATH (embedded default) or postgres://USER@HOST/DB.
	DSN string `yaml:"dsn"`
}

// InboxConfig tunes the durable webhook inbox and its worker pool.
type InboxConfig struct {
	Workers        int      `yaml:"workers"`
	MaxAttempts    int      `yaml:"max_attempts"`
	BackoffBase    Duration `yaml:"backoff_base"`
	BackoffMax     Duration `yaml:"backoff_max"`
	PollInterval   Duration `yaml:"poll_interval"`
	HandlerTimeout Duration `yaml:"handler_timeout"`
	Lease          Duration `yaml:"lease"`
	Retention      Duration `yaml:"retention"`
}

// Deploy modes.
const (
	// DeployEmbedded runs deployments against an in-process S3-compatible
	// server and a DuckDB file per environment: nothing leaves the machine.
	DeployEmbedded = "embedded"
	// DeployAWS assumes each environment's deploy role and reaches its MWAA
	// bucket, MWAA environment and Snowflake warehouse.
	DeployAWS = "aws"
)

// Deploy defaults.
const (
	DefaultDeployWorkDir = "./data/deploy"
	DefaultDeployLease   = 2 * time.Minute
	DefaultDeployLockTTL = 24 * time.Hour
	// DefaultDeployTimeout bounds a webhook that deploys: an MWAA update
	// alone can take 40 minutes.
	DefaultDeployTimeout = 90 * time.Minute
)

// DeployConfig is how this server reaches environments. The environments
// themselves (accounts, buckets, warehouses) come from each repo's
// `.conveyor.yml`; this section holds only what the server owns.
type DeployConfig struct {
	// Mode is embedded (default) or aws.
	Mode string `yaml:"mode"`
	// WorkDir holds materialized releases, and on embedded mode the DuckDB files.
	WorkDir   string          `yaml:"work_dir"`
	Artifacts ArtifactsConfig `yaml:"artifacts"`
	// Lease is how long an environment lock lives without renewal.
	Lease Duration `yaml:"lease"`
	// LockTTL is how long a person's /lock holds.
	LockTTL Duration `yaml:"lock_ttl"`
	// Timeout is the longest one attempt of a webhook that can deploy (a
	// merge, a command, a button) may run; inbox.handler_timeout bounds the rest.
	Timeout  Duration       `yaml:"timeout"`
	Executor ExecutorConfig `yaml:"executor"`
	// MWAA calls UpdateEnvironment when plugins or requirements change (aws
	// mode; default on).
	MWAA *bool `yaml:"mwaa"`
	// Snowflake holds, per environment name, how to log in to its warehouse
	// (aws mode). Account, database, warehouse and role come from the repo.
	Snowflake map[string]SnowflakeLogin `yaml:"snowflake"`
}

// MWAAOn reports whether MWAA environments are updated.
func (d DeployConfig) MWAAOn() bool { return d.MWAA == nil || *d.MWAA }

// ArtifactsConfig is where release bundles are stored: a directory, or an
// S3 URL (s3://bucket/prefix). Exactly one may be set; neither means
// WorkDir/artifacts.
type ArtifactsConfig struct {
	Dir string `yaml:"dir"`
	S3  string `yaml:"s3"`
}

// S3Location splits Artifacts.S3 into bucket and prefix.
func (a ArtifactsConfig) S3Location() (bucket, prefix string, err error) {
	u, err := url.Parse(a.S3)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("expected s3://BUCKET/PREFIX, got %q", a.S3)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// ExecutorConfig says where component commands (dbt, terraform, smoke) run.
type ExecutorConfig struct {
	// Type is local (a subprocess; default) or codebuild.
	Type string `yaml:"type"`
	// CodeBuildProject is the project started in each environment's account.
	CodeBuildProject string `yaml:"codebuild_project"`
}

// SnowflakeLogin names where an environment's Snowflake credentials are; the
// config never holds a secret itself.
type SnowflakeLogin struct {
	User string `yaml:"user"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// PrivateKeyEnv names the environment variable holding a PEM private key
	// (key-pair authentication).
	PrivateKeyEnv string `yaml:"private_key_env"`
	// SecretARN is a Secrets Manager secret whose value is the password or a
	// PEM private key, read with Conveyor's own identity.
	SecretARN string `yaml:"secret_arn"`
}

// Secret is a string that never prints itself, so a config dumped to a log
// or an error message cannot leak it.
type Secret string

// String redacts the secret.
func (Secret) String() string { return "[redacted]" }

// GoString redacts the secret for %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// MarshalYAML redacts the secret.
func (Secret) MarshalYAML() (any, error) { return "[redacted]", nil }

// MarshalJSON redacts the secret.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// LookupEnv reads an environment variable (os.LookupEnv in main, a map in tests).
type LookupEnv func(key string) (string, bool)

// LoadServer reads the server config at path, applies environment
// overrides and defaults, and validates every value.
func LoadServer(path string, env LookupEnv) (*ServerConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("reading server config: %v", err)}
	}
	return ParseServer(path, data, env)
}

// ParseServer decodes the server config in data (file names it in errors),
// applies environment overrides and defaults and validates. The error is an
// Errors naming the file, line, column (or environment variable) and key of
// every problem.
func ParseServer(file string, data []byte, env LookupEnv) (*ServerConfig, error) {
	cfg := &ServerConfig{}
	if err := decodeStrict(file, data, cfg); err != nil {
		return nil, err
	}
	cfg.File = file
	src := &sources{file: file, pos: keyPositions(data), env: map[string]string{}}
	var errs Errors
	if env != nil {
		errs = append(errs, applyServerEnv(cfg, env, src)...)
	}
	applyServerDefaults(cfg)
	errs = append(errs, validateServer(cfg, src)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// sources remembers where each key's value came from, for located errors.
type sources struct {
	file string
	pos  map[string]Pos
	env  map[string]string // key → environment variable that set it
}

func (s *sources) errorf(key, format string, args ...any) *Error {
	if v, ok := s.env[key]; ok {
		return &Error{File: "$" + v, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	p := s.pos[key]
	return &Error{File: s.file, Line: p.Line, Column: p.Column, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func applyServerEnv(cfg *ServerConfig, env LookupEnv, src *sources) Errors {
	var errs Errors
	set := func(name, key string, apply func(v string) error) {
		v, ok := env(name)
		if !ok {
			return
		}
		src.env[key] = name
		if err := apply(v); err != nil {
			errs = append(errs, src.errorf(key, "%v", err))
		}
	}
	set(EnvGitHubAppID, "github.app_id", func(v string) error {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("expected an integer App ID, got %q", v)
		}
		cfg.GitHub.AppID = id
		return nil
	})
	set(EnvGitHubPrivateKeyFile, "github.private_key_file", func(v string) error { cfg.GitHub.PrivateKeyFile = v; return nil })
	set(EnvWebhookSecrets, "github.webhook_secrets", func(v string) error {
		cfg.GitHub.WebhookSecrets = nil
		for _, s := range strings.Split(v, ",") {
			cfg.GitHub.WebhookSecrets = append(cfg.GitHub.WebhookSecrets, Secret(s))
		}
		return nil
	})
	set(EnvGitHubAPIURL, "github.api_url", func(v string) error { cfg.GitHub.APIURL = v; return nil })
	set(EnvListen, "listen", func(v string) error { cfg.Listen = v; return nil })
	set(EnvStoreDSN, "store.dsn", func(v string) error { cfg.Store.DSN = v; return nil })
	return errs
}

func applyServerDefaults(cfg *ServerConfig) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&cfg.Listen, DefaultListen)
	defDur(&cfg.ShutdownTimeout, DefaultShutdownTimeout)
	def(&cfg.Log.Level, "info")
	def(&cfg.Log.Format, "json")
	def(&cfg.GitHub.APIURL, DefaultGitHubAPIURL)
	if !strings.HasSuffix(cfg.GitHub.APIURL, "/") {
		cfg.GitHub.APIURL += "/"
	}
	def(&cfg.Store.DSN, DefaultStoreDSN)
	if cfg.Inbox.Workers == 0 {
		cfg.Inbox.Workers = 4
	}
	if cfg.Inbox.MaxAttempts == 0 {
		cfg.Inbox.MaxAttempts = 8
	}
	defDur(&cfg.Inbox.BackoffBase, 5*time.Second)
	defDur(&cfg.Inbox.BackoffMax, 10*time.Minute)
	defDur(&cfg.Inbox.PollInterval, 2*time.Second)
	defDur(&cfg.Inbox.HandlerTimeout, 5*time.Minute)
	defDur(&cfg.Inbox.Lease, 30*time.Second)
	defDur(&cfg.Inbox.Retention, 14*24*time.Hour)
	def(&cfg.Deploy.Mode, DeployEmbedded)
	def(&cfg.Deploy.WorkDir, DefaultDeployWorkDir)
	defDur(&cfg.Deploy.Lease, DefaultDeployLease)
	defDur(&cfg.Deploy.LockTTL, DefaultDeployLockTTL)
	defDur(&cfg.Deploy.Timeout, DefaultDeployTimeout)
	def(&cfg.Deploy.Executor.Type, "local")
}

func validateServer(cfg *ServerConfig, src *sources) Errors {
	var errs Errors
	add := func(key, format string, args ...any) { errs = append(errs, src.errorf(key, format, args...)) }

	if _, port, err := net.SplitHostPort(cfg.Listen); err != nil {
		add("listen", "expected host:port such as :8080 or 127.0.0.1:8080, got %q", cfg.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("listen", "port must be a number from 0 to 65535, got %q", port)
	}
	positive := func(key string, d Duration) {
		if d < 0 {
			add(key, "must be positive, got %s", d.D())
		}
	}
	positive("shutdown_timeout", cfg.ShutdownTimeout)
	switch cfg.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "expected debug, info, warn or error, got %q", cfg.Log.Level)
	}
	switch cfg.Log.Format {
	case "json", "console":
	default:
		add("log.format", "expected json or console, got %q", cfg.Log.Format)
	}

	if cfg.GitHub.AppID < 0 {
		add("github.app_id", "must be a positive integer, got %d", cfg.GitHub.AppID)
	}
	for i, s := range cfg.GitHub.WebhookSecrets {
		key := "github.webhook_secrets"
		if _, fromEnv := src.env[key]; !fromEnv {
			key = fmt.Sprintf("%s[%d]", key, i)
		}
		switch {
		case s == "":
			add(key, "secret %d is empty", i+1)
		case strings.TrimSpace(string(s)) != string(s):
			// A trailing newline from `cat secret.txt` would fail every signature.
			add(key, "secret %d has leading or trailing whitespace", i+1)
		}
	}
	if u, err := url.Parse(cfg.GitHub.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add("github.api_url", "expected an http(s) URL such as https://api.github.com/ or https://github.example.com/api/v3/, got %q", cfg.GitHub.APIURL)
	}

	dsn := cfg.Store.DSN
	if !strings.HasPrefix(dsn, "sqlite:") && !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		add("store.dsn", "expected sqlite://PATH or postgres://USER@HOST/DB, got a DSN starting %q", dsnScheme(dsn))
	}

	in := cfg.Inbox
	if in.Workers < 1 || in.Workers > 256 {
		add("inbox.workers", "must be from 1 to 256, got %d", in.Workers)
	}
	if in.MaxAttempts < 1 || in.MaxAttempts > 100 {
		add("inbox.max_attempts", "must be from 1 to 100, got %d", in.MaxAttempts)
	}
	for key, d := range map[string]Duration{
		"inbox.backoff_base": in.BackoffBase, "inbox.backoff_max": in.BackoffMax, "inbox.poll_interval": in.PollInterval,
		"inbox.handler_timeout": in.HandlerTimeout, "inbox.lease": in.Lease, "inbox.retention": in.Retention,
	} {
		positive(key, d)
	}
	if in.BackoffMax > 0 && in.BackoffMax < in.BackoffBase {
		add("inbox.backoff_max", "must be at least backoff_base (%s), got %s", in.BackoffBase.D(), in.BackoffMax.D())
	}
	if in.Lease > 0 && in.Lease.D() < time.Second {
		add("inbox.lease", "must be at least 1s, got %s", in.Lease.D())
	}
	errs = append(errs, validateDeploy(cfg.Deploy, src)...)
	sortErrors(errs)
	return errs
}

var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validateDeploy(d DeployConfig, src *sources) Errors {
	var errs Errors
	add := func(key, format string, args ...any) { errs = append(errs, src.errorf(key, format, args...)) }
	switch d.Mode {
	case DeployEmbedded, DeployAWS:
	default:
		add("deploy.mode", "expected embedded or aws, got %q", d.Mode)
	}
	a := d.Artifacts
	switch {
	case a.Dir != "" && a.S3 != "":
		add("deploy.artifacts.s3", "set either artifacts.dir or artifacts.s3, not both")
	case a.S3 != "":
		if _, _, err := a.S3Location(); err != nil {
			add("deploy.artifacts.s3", "%v", err)
		}
	}
	if d.Mode == DeployAWS && a.S3 == "" {
		add("deploy.mode", "aws mode needs artifacts.s3: an S3 bucket in the tooling account (s3://BUCKET/PREFIX)")
	}
	if d.Lease > 0 && d.Lease.D() < time.Second {
		add("deploy.lease", "must be at least 1s, got %s", d.Lease.D())
	}
	if d.Lease < 0 {
		add("deploy.lease", "must be positive, got %s", d.Lease.D())
	}
	if d.LockTTL < 0 {
		add("deploy.lock_ttl", "must be positive, got %s", d.LockTTL.D())
	}
	if d.Timeout != 0 && d.Timeout.D() < time.Minute {
		add("deploy.timeout", "must be at least 1m, got %s", d.Timeout.D())
	}
	switch d.Executor.Type {
	case "local":
		if d.Executor.CodeBuildProject != "" {
			add("deploy.executor.codebuild_project", "only used with executor type codebuild")
		}
	case "codebuild":
		if d.Mode != DeployAWS {
			add("deploy.executor.type", "codebuild runs in the environments' AWS accounts: it needs deploy.mode aws")
		}
		if d.Executor.CodeBuildProject == "" {
			add("deploy.executor.type", "codebuild needs executor.codebuild_project")
		}
	default:
		add("deploy.executor.type", "expected local or codebuild, got %q", d.Executor.Type)
	}
	if len(d.Snowflake) > 0 && d.Mode != DeployAWS {
		add("deploy.snowflake", "Snowflake logins are used in aws mode; embedded mode runs DuckDB")
	}
	for env, l := range d.Snowflake {
		key := "deploy.snowflake." + env
		if l.User == "" {
			add(key, "user is required")
		}
		n := 0
		for _, v := range []string{l.PasswordEnv, l.PrivateKeyEnv, l.SecretARN} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			add(key, "set exactly one of password_env, private_key_env or secret_arn (never the secret itself)")
		}
		for field, v := range map[string]string{"password_env": l.PasswordEnv, "private_key_env": l.PrivateKeyEnv} {
			if v != "" && !envVarName.MatchString(v) {
				add(key+"."+field, "expected the name of an environment variable, got %q", v)
			}
		}
		if l.SecretARN != "" && !strings.HasPrefix(l.SecretARN, "arn:aws:secretsmanager:") {
			add(key+".secret_arn", "expected a Secrets Manager ARN (arn:aws:secretsmanager:…), got %q", l.SecretARN)
		}
	}
	return errs
}

// CheckServe reports what `conveyor serve` needs and the file may leave to
// the environment: the App ID, a readable private key and at least one
// webhook secret. There is no mode that skips signature checks.
func (cfg *ServerConfig) CheckServe() error {
	var errs Errors
	where := func(key string) *Error { return &Error{File: cfg.File, Key: key} }
	if cfg.GitHub.AppID == 0 {
		e := where("github.app_id")
		e.Msg = "required: set github.app_id or " + EnvGitHubAppID
		errs = append(errs, e)
	}
	if cfg.GitHub.PrivateKeyFile == "" {
		e := where("github.private_key_file")
		e.Msg = "required: set github.private_key_file or " + EnvGitHubPrivateKeyFile
		errs = append(errs, e)
	} else if _, err := os.Stat(cfg.GitHub.PrivateKeyFile); err != nil {
		e := where("github.private_key_file")
		e.Msg = fmt.Sprintf("cannot read the App's private key: %v", err)
		errs = append(errs, e)
	}
	if len(cfg.GitHub.WebhookSecrets) == 0 {
		e := where("github.webhook_secrets")
		e.Msg = "required: at least one webhook secret (set " + EnvWebhookSecrets + "); deliveries are never accepted unsigned"
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// WebhookSecretValues returns the secrets for the signature check.
func (cfg *ServerConfig) WebhookSecretValues() []string {
	out := make([]string, len(cfg.GitHub.WebhookSecrets))
	for i, s := range cfg.GitHub.WebhookSecrets {
		out[i] = s.Reveal()
	}
	return out
}

// GitHubGraphQLURL derives the GraphQL endpoint from the REST base:
// https://api.github.com/graphql, or https://HOST/api/graphql on Enterprise.
func (cfg *ServerConfig) GitHubGraphQLURL() string {
	base := strings.TrimSuffix(cfg.GitHub.APIURL, "/")
	if strings.HasSuffix(base, "/api/v3") {
		return strings.TrimSuffix(base, "/v3") + "/graphql"
	}
	return base + "/graphql"
}

func dsnScheme(dsn string) string {
	if i := strings.Index(dsn, ":"); i >= 0 {
		return dsn[:i+1]
	}
	if len(dsn) > 10 {
		return dsn[:10]
	}
	return dsn
}

func sortErrors(errs Errors) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && lessError(errs[j], errs[j-1]); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

func lessError(a, b *Error) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Key < b.Key
}

// keyPositions maps each dotted key path in a YAML document (list items as
// key[i]) to the position of its value, so semantic errors found after
// decoding can still point at a line.
func keyPositions(data []byte) map[string]Pos {
	out := map[string]Pos{}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return out
	}
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				full := joinKey(key, k.Value)
				out[full] = Pos{Line: v.Line, Column: v.Column}
				walk(v, full)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				full := fmt.Sprintf("%s[%d]", key, i)
				out[full] = Pos{Line: c.Line, Column: c.Column}
				walk(c, full)
			}
		}
	}
	walk(&doc, "")
	return out
}
