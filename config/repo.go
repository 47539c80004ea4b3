// Package config reads Conveyor's two configuration files: the server's own
// YAML file and the data repo's `.conveyor.yml`. Both are decoded strictly:
// an unknown key, a duplicate key or a value of the wrong type is an error that
// names the file, line, column and key.
package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// RepoConfigPath is where the data repo keeps its config, read from the base branch.
const RepoConfigPath = ".conveyor.yml"

// Component kinds.
const (
	KindAirflow   = "airflow"
	KindDbt       = "dbt"
	KindContracts = "contracts"
	KindTerraform = "terraform"
	KindStreaming = "streaming"
)

// Kinds lists every component kind in the order their changes are applied:
// infrastructure first, then warehouse objects, then DAGs, then streaming consumers.
var Kinds = []string{KindTerraform, KindContracts, KindDbt, KindAirflow, KindStreaming}

// RepoConfig is the data repo's `.conveyor.yml`.
type RepoConfig struct {
	Version      int           `yaml:"version"`
	Components   []Component   `yaml:"components"`
	Environments []Environment `yaml:"environments"`
	Checks       Checks        `yaml:"checks"`
	Teams        Teams         `yaml:"teams"`
	Ownership    Ownership     `yaml:"ownership"`
	Permissions  Permissions   `yaml:"permissions"`
	Freeze       []FreezeRule  `yaml:"freeze"`
	Deploy       Deploy        `yaml:"deploy"`

	// File is the path the config was read from; empty when Detected.
	File string `yaml:"-"`
	// Detected is true when there was no `.conveyor.yml` and the components
	// were found by looking at the tree (zero-config mode).
	Detected bool `yaml:"-"`
}

// Component is a unit of the data repo with a kind and the paths it owns.
type Component struct {
	Pos     Pos      `yaml:"-"`
	Name    string   `yaml:"name"`
	Kind    string   `yaml:"kind"`
	Paths   []string `yaml:"paths"`
	Exclude []string `yaml:"exclude"`
	// Owner is the team that owns the component (used in summaries and defaults).
	Owner string `yaml:"owner"`
	// Project is the dbt project folder (holding dbt_project.yml) for kind dbt.
	Project string `yaml:"project"`
	// Stacks are the Terraform root modules of a terraform component.
	Stacks []TerraformStack `yaml:"stacks"`
	// Commands the executor runs for this component (import checks, dbt build,
	// terraform plan, smoke tests); empty means Conveyor's static checks stand alone.
	Commands Commands `yaml:"commands"`
	// Streaming describes the consumers of a streaming component.
	Streaming *StreamingSettings `yaml:"streaming"`
}

// Commands are shell commands run by the executor in the release's working tree.
type Commands struct {
	Import  string   `yaml:"import"`
	Test    string   `yaml:"test"`
	Build   string   `yaml:"build"`
	Plan    string   `yaml:"plan"`
	Apply   string   `yaml:"apply"`
	Smoke   string   `yaml:"smoke"`
	Timeout Duration `yaml:"timeout"`
}

// StreamingSettings names the Kafka consumers a streaming component deploys.
type StreamingSettings struct {
	ConsumerGroup string   `yaml:"consumer_group"`
	Topics        []string `yaml:"topics"`
}

// Matches reports whether path belongs to the component.
func (c *Component) Matches(path string) bool {
	for _, ex := range c.Exclude {
		if ok, _ := doublestar.Match(ex, path); ok {
			return false
		}
	}
	for _, p := range c.Paths {
		if ok, _ := doublestar.Match(p, path); ok {
			return true
		}
	}
	return false
}

// Environment is one deploy target in the promotion chain.
type Environment struct {
	Pos           Pos          `yaml:"-"`
	Name          string       `yaml:"name"`
	AWSAccountID  string       `yaml:"aws_account_id"`
	Region        string       `yaml:"region"`
	DeployRoleARN string       `yaml:"deploy_role_arn"`
	Airflow       AirflowEnv   `yaml:"airflow"`
	Warehouse     WarehouseEnv `yaml:"warehouse"`
	Kafka         KafkaEnv     `yaml:"kafka"`
	// Soak is how long a release must run green here before the next
	// environment may take it, per risk class.
	Soak Soak `yaml:"soak"`
	// AutoPromote lets low-risk releases flow into this environment without a command.
	AutoPromote *bool `yaml:"auto_promote"`
	// RequiredChecks must be green at the release's SHA to deploy here.
	RequiredChecks []string `yaml:"required_checks"`
}

// AutoPromotes reports whether low-risk releases flow here without a command.
func (e *Environment) AutoPromotes() bool { return e.AutoPromote == nil || *e.AutoPromote }

// AirflowEnv is the environment's MWAA target.
type AirflowEnv struct {
	MWAAEnvironment string   `yaml:"mwaa_environment"`
	Bucket          string   `yaml:"bucket"`
	DagsPrefix      string   `yaml:"dags_prefix"`
	Pools           []string `yaml:"pools"`
	Queues          []string `yaml:"queues"`
	WebURL          string   `yaml:"web_url"`
	// KeepUnknownObjects leaves in place the DAG objects no Conveyor
	// deployment wrote (while adopting an environment another process
	// deployed to); off, the DAG prefix holds exactly the release.
	KeepUnknownObjects bool `yaml:"keep_unknown_objects"`
}

// WarehouseEnv is the environment's warehouse.
type WarehouseEnv struct {
	Type      string   `yaml:"type"` // snowflake | duckdb
	Account   string   `yaml:"account"`
	Database  string   `yaml:"database"`
	Warehouse string   `yaml:"warehouse"`
	Role      string   `yaml:"role"`
	Schemas   []string `yaml:"schemas"`
	Path      string   `yaml:"path"` // duckdb file
}

// KafkaEnv is the environment's Kafka cluster.
type KafkaEnv struct {
	Brokers []string `yaml:"brokers"`
	// IAM connects over TLS with MSK's IAM authentication, as the
	// environment's deploy role; otherwise the brokers are reached in plain text.
	IAM bool `yaml:"iam"`
}

// Soak durations per risk class.
type Soak struct {
	Low  Duration `yaml:"low"`
	High Duration `yaml:"high"`
}

// Checks holds the settings of every check.
type Checks struct {
	// Required lists the check names that gate promotion in every environment.
	Required  []string          `yaml:"required"`
	Airflow   AirflowSettings   `yaml:"airflow"`
	Terraform TerraformSettings `yaml:"terraform"`
	Dbt       DbtSettings       `yaml:"dbt"`
	Contracts ContractSettings  `yaml:"contracts"`
}

// Teams names the GitHub organization and the teams the repo knows.
type Teams struct {
	Org   string   `yaml:"org"`
	Known []string `yaml:"known"`
}

// Ownership states who must approve which paths, beyond CODEOWNERS.
type Ownership struct {
	// CodeOwners honours .github/CODEOWNERS as one more approval group (default true).
	CodeOwners *bool `yaml:"codeowners"`
	// InvalidateOnPush drops approvals given before the latest push (default true);
	// a rule may override it.
	InvalidateOnPush *bool           `yaml:"invalidate_on_push"`
	Rules            []OwnershipRule `yaml:"rules"`
	// ContractConsumers requires the producing team and every consumer team
	// named in a changed contract, as it stands on the base branch, to
	// approve (default true).
	ContractConsumers *bool `yaml:"contract_consumers"`
}

// OwnershipRule is one approval group: changes under Paths need Approvals
// approvals from members of Teams (or the named Users).
type OwnershipRule struct {
	Pos              Pos      `yaml:"-"`
	Name             string   `yaml:"name"`
	Paths            []string `yaml:"paths"`
	Teams            []string `yaml:"teams"`
	Users            []string `yaml:"users"`
	Approvals        int      `yaml:"approvals"`
	InvalidateOnPush *bool    `yaml:"invalidate_on_push"`
}

// Permissions maps command → environment (or "*") → principals allowed to run
// it. A principal is a team slug ("devops", "@org/devops") or a user ("@alice").
// Anything not listed is denied.
type Permissions map[string]map[string][]string

// FreezeRule blocks deploys to environments during a weekly window or a fixed period.
type FreezeRule struct {
	Pos          Pos      `yaml:"-"`
	Name         string   `yaml:"name"`
	Environments []string `yaml:"environments"`
	// Weekly window, e.g. from "Fri 16:00" to "Mon 08:00".
	From string `yaml:"from"`
	To   string `yaml:"to"`
	// Fixed period in RFC 3339.
	Start    string `yaml:"start"`
	End      string `yaml:"end"`
	Timezone string `yaml:"timezone"`
	// AllowLowRisk lets low-risk releases through the window.
	AllowLowRisk bool   `yaml:"allow_low_risk"`
	Reason       string `yaml:"reason"`
}

// Deploy holds deploy-wide settings.
type Deploy struct {
	Pos            Pos    `yaml:"-"`
	ArtifactBucket string `yaml:"artifact_bucket"`
	// AutoDeploy enables merge → dev → staging → prod for low-risk releases (default true).
	AutoDeploy *bool `yaml:"auto_deploy"`
	// Migrations are SQL files applied to the warehouse, in order, per release.
	Migrations []string `yaml:"migrations"`
	// SmokeSQL are SQL assertions (queries returning zero rows when healthy).
	SmokeSQL []string `yaml:"smoke_sql"`
	// KeepRestorePoints is how many of an environment's newest deployments
	// keep their warehouse restore points (default 5); older ones are
	// dropped, since every clone keeps storage the warehouse bills.
	KeepRestorePoints int `yaml:"keep_restore_points"`
}

// DefaultKeepRestorePoints is Deploy.KeepRestorePoints when unset.
const DefaultKeepRestorePoints = 5

// RestorePointsKept is KeepRestorePoints with its default.
func (d Deploy) RestorePointsKept() int {
	if d.KeepRestorePoints <= 0 {
		return DefaultKeepRestorePoints
	}
	return d.KeepRestorePoints
}

// RuleSettings is embedded by every check's settings: an off switch for the
// whole check, per-rule switches and severities, and per-path ignores with a reason.
type RuleSettings struct {
	Enabled *bool                 `yaml:"enabled"`
	Rules   map[string]RuleToggle `yaml:"rules"`
	Ignore  []Ignore              `yaml:"ignore"`
}

// RuleToggle turns one rule off or changes its severity.
type RuleToggle struct {
	Enabled  *bool  `yaml:"enabled"`
	Severity string `yaml:"severity"` // notice | warning | failure
}

// UnmarshalYAML accepts the short forms `RULE: off`, `RULE: warning`.
func (t *RuleToggle) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "off", "false", "disabled":
			f := false
			t.Enabled = &f
			return nil
		case "on", "true", "enabled":
			tr := true
			t.Enabled = &tr
			return nil
		case "notice", "warning", "failure":
			t.Severity = strings.ToLower(n.Value)
			return nil
		}
		return fmt.Errorf("expected off, on, notice, warning or failure, got %q", n.Value)
	}
	type plain RuleToggle
	var p plain
	if err := decodeNodeStrict(n, &p); err != nil {
		return err
	}
	*t = RuleToggle(p)
	return nil
}

// Ignore silences a rule (or every rule, "*") on matching paths, with a reason.
type Ignore struct {
	Rule   string   `yaml:"rule"`
	Paths  []string `yaml:"paths"`
	Reason string   `yaml:"reason"`
}

// On reports whether the check as a whole is enabled.
func (r RuleSettings) On() bool { return r.Enabled == nil || *r.Enabled }

// RuleOn reports whether rule applies to path.
func (r RuleSettings) RuleOn(rule, path string) bool {
	if t, ok := r.Rules[rule]; ok && t.Enabled != nil && !*t.Enabled {
		return false
	}
	for _, ig := range r.Ignore {
		if ig.Rule != rule && ig.Rule != "*" {
			continue
		}
		for _, p := range ig.Paths {
			if ok, _ := doublestar.Match(p, path); ok {
				return false
			}
		}
	}
	return true
}

// Severity returns the configured severity of rule, or def.
func (r RuleSettings) Severity(rule, def string) string {
	if t, ok := r.Rules[rule]; ok && t.Severity != "" {
		return t.Severity
	}
	return def
}

// Duration is a time.Duration that also reads days ("2d") from YAML.
type Duration time.Duration

// UnmarshalYAML parses Go durations ("90m", "1h30m") and whole days ("2d").
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses Go durations and whole days ("2d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil && fmt.Sprintf("%dd", days) == s {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("expected a duration like 30m, 2h or 1d, got %q", s)
	}
	return v, nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Component returns the component named name.
func (c *RepoConfig) Component(name string) (*Component, bool) {
	for i := range c.Components {
		if c.Components[i].Name == name {
			return &c.Components[i], true
		}
	}
	return nil, false
}

// Environment returns the environment named name.
func (c *RepoConfig) Environment(name string) (*Environment, bool) {
	for i := range c.Environments {
		if c.Environments[i].Name == name {
			return &c.Environments[i], true
		}
	}
	return nil, false
}

// EnvironmentNames returns the promotion chain in order.
func (c *RepoConfig) EnvironmentNames() []string {
	out := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		out[i] = e.Name
	}
	return out
}

// Previous returns the environment before env in the chain, if any.
func (c *RepoConfig) Previous(env string) (string, bool) {
	for i, e := range c.Environments {
		if e.Name == env && i > 0 {
			return c.Environments[i-1].Name, true
		}
	}
	return "", false
}

// IsLast reports whether env ends the promotion chain: production, which
// a high-risk release enters only by a person's /promote, and which GitHub
// treats as a production environment.
func (c *RepoConfig) IsLast(env string) bool {
	n := len(c.Environments)
	return n > 0 && c.Environments[n-1].Name == env
}

// ComponentsOfKind returns the components of one kind.
func (c *RepoConfig) ComponentsOfKind(kind string) []*Component {
	var out []*Component
	for i := range c.Components {
		if c.Components[i].Kind == kind {
			out = append(out, &c.Components[i])
		}
	}
	return out
}

// ComponentsFor returns the components that own path (a file may belong to several).
func (c *RepoConfig) ComponentsFor(path string) []*Component {
	var out []*Component
	for i := range c.Components {
		if c.Components[i].Matches(path) {
			out = append(out, &c.Components[i])
		}
	}
	return out
}

// ParseRepo decodes and validates a `.conveyor.yml`. file names the source in
// errors. The returned error is an Errors listing every problem found.
func ParseRepo(file string, data []byte) (*RepoConfig, error) {
	cfg := &RepoConfig{}
	if err := decodeStrict(file, data, cfg); err != nil {
		return nil, err
	}
	cfg.File = file
	applyRepoDefaults(cfg)
	if errs := validateRepo(cfg); len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// DefaultEnvironments is the promotion chain used when the config names none.
func DefaultEnvironments() []Environment {
	return []Environment{{Name: "dev"}, {Name: "staging"}, {Name: "prod"}}
}

func applyRepoDefaults(cfg *RepoConfig) {
	if cfg.Version == 0 {
		cfg.Version = 1
	}
	if len(cfg.Environments) == 0 {
		cfg.Environments = DefaultEnvironments()
	}
	for i := range cfg.Components {
		c := &cfg.Components[i]
		if c.Kind == KindDbt && c.Project == "" && len(c.Paths) > 0 {
			c.Project = staticPrefix(c.Paths[0])
		}
	}
}

// staticPrefix returns the folder part of a glob before its first wildcard.
func staticPrefix(glob string) string {
	base, _ := doublestar.SplitPattern(glob)
	if base == "." {
		return ""
	}
	return base
}

var knownCommands = []string{"promote", "rollback", "backfill", "plan", "status", "lock", "unlock", "freeze", "unfreeze", "help", "break_glass"}

func validateRepo(cfg *RepoConfig) Errors {
	var errs Errors
	add := func(p Pos, key, format string, args ...any) {
		errs = append(errs, &Error{File: cfg.File, Line: p.Line, Column: p.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if cfg.Version != 1 {
		add(Pos{Line: 1, Column: 1}, "version", "unsupported version %d (this Conveyor reads version 1)", cfg.Version)
	}
	names := map[string]bool{}
	for i, c := range cfg.Components {
		key := fmt.Sprintf("components[%d]", i)
		switch {
		case c.Name == "":
			add(c.Pos, key+".name", "every component needs a name")
		case names[c.Name]:
			add(c.Pos, key+".name", "component %q is defined twice", c.Name)
		}
		names[c.Name] = true
		if !validKind(c.Kind) {
			add(c.Pos, key+".kind", "kind %q is not one of %s", c.Kind, strings.Join(sortedKinds(), ", "))
		}
		if len(c.Paths) == 0 {
			add(c.Pos, key+".paths", "component %q needs at least one path glob", c.Name)
		}
		for _, p := range append(append([]string{}, c.Paths...), c.Exclude...) {
			if !doublestar.ValidatePattern(p) {
				add(c.Pos, key+".paths", "%q is not a valid glob", p)
			}
		}
		if c.Kind != KindTerraform && len(c.Stacks) > 0 {
			add(c.Pos, key+".stacks", "only terraform components have stacks")
		}
	}
	envs := map[string]bool{}
	for i, e := range cfg.Environments {
		key := fmt.Sprintf("environments[%d]", i)
		switch {
		case e.Name == "":
			add(e.Pos, key+".name", "every environment needs a name")
		case envs[e.Name]:
			add(e.Pos, key+".name", "environment %q is defined twice", e.Name)
		}
		envs[e.Name] = true
		if e.Warehouse.Type != "" && e.Warehouse.Type != "snowflake" && e.Warehouse.Type != "duckdb" {
			add(e.Pos, key+".warehouse.type", "expected snowflake or duckdb, got %q", e.Warehouse.Type)
		}
		if e.AWSAccountID != "" && (len(e.AWSAccountID) != 12 || strings.Trim(e.AWSAccountID, "0123456789") != "") {
			add(e.Pos, key+".aws_account_id", "an AWS account ID is 12 digits, got %q", e.AWSAccountID)
		}
	}
	for i, r := range cfg.Ownership.Rules {
		key := fmt.Sprintf("ownership.rules[%d]", i)
		if len(r.Paths) == 0 {
			add(r.Pos, key+".paths", "an ownership rule needs paths")
		}
		for _, p := range r.Paths {
			if !doublestar.ValidatePattern(p) {
				add(r.Pos, key+".paths", "%q is not a valid glob", p)
			}
		}
		if len(r.Teams) == 0 && len(r.Users) == 0 {
			add(r.Pos, key+".teams", "an ownership rule needs teams or users who approve")
		}
		if r.Approvals < 0 {
			add(r.Pos, key+".approvals", "approvals cannot be negative")
		}
	}
	cmds := map[string]bool{}
	for _, c := range knownCommands {
		cmds[c] = true
	}
	for _, cmd := range sortedKeys(cfg.Permissions) {
		if !cmds[cmd] {
			add(Pos{}, "permissions."+cmd, "unknown command (known: %s)", strings.Join(knownCommands, ", "))
			continue
		}
		for _, env := range sortedKeys(cfg.Permissions[cmd]) {
			if env != "*" && !envs[env] {
				add(Pos{}, "permissions."+cmd+"."+env, "unknown environment %q", env)
			}
		}
	}
	if cfg.Deploy.KeepRestorePoints < 0 {
		add(cfg.Deploy.Pos, "deploy.keep_restore_points", "must be at least 1, got %d", cfg.Deploy.KeepRestorePoints)
	}
	for i, f := range cfg.Freeze {
		key := fmt.Sprintf("freeze[%d]", i)
		for _, env := range f.Environments {
			if !envs[env] {
				add(f.Pos, key+".environments", "unknown environment %q", env)
			}
		}
		weekly := f.From != "" || f.To != ""
		fixed := f.Start != "" || f.End != ""
		switch {
		case weekly && fixed:
			add(f.Pos, key, "a freeze is either weekly (from/to) or fixed (start/end), not both")
		case weekly:
			for _, s := range []string{f.From, f.To} {
				if _, _, err := ParseWeekTime(s); err != nil {
					add(f.Pos, key, "%v", err)
				}
			}
		case fixed:
			for _, s := range []string{f.Start, f.End} {
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					add(f.Pos, key, "expected an RFC 3339 time like 2026-12-24T00:00:00Z, got %q", s)
				}
			}
		default:
			add(f.Pos, key, "a freeze needs from/to (weekly) or start/end (fixed)")
		}
		if f.Timezone != "" {
			if _, err := time.LoadLocation(f.Timezone); err != nil {
				add(f.Pos, key+".timezone", "unknown time zone %q", f.Timezone)
			}
		}
	}
	for _, v := range []struct {
		key string
		s   RuleSettings
	}{{"checks.airflow", cfg.Checks.Airflow.RuleSettings}, {"checks.terraform", cfg.Checks.Terraform.RuleSettings}, {"checks.dbt", cfg.Checks.Dbt.RuleSettings}, {"checks.contracts", cfg.Checks.Contracts.RuleSettings}} {
		for _, ig := range v.s.Ignore {
			if ig.Reason == "" {
				add(Pos{}, v.key+".ignore", "ignoring rule %q needs a reason", ig.Rule)
			}
		}
	}
	errs = append(errs, validateCheckSettings(cfg)...)
	return errs
}

// ParseWeekTime parses "Fri 16:00" into a weekday and minutes after midnight.
func ParseWeekTime(s string) (time.Weekday, int, error) {
	days := map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	var day string
	var h, m int
	if _, err := fmt.Sscanf(s, "%s %d:%d", &day, &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, 0, fmt.Errorf("expected a weekly time like \"Fri 16:00\", got %q", s)
	}
	wd, ok := days[strings.ToLower(day)[:min(3, len(day))]]
	if !ok {
		return 0, 0, fmt.Errorf("unknown weekday in %q", s)
	}
	return wd, h*60 + m, nil
}

func validKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func sortedKinds() []string {
	k := append([]string{}, Kinds...)
	sort.Strings(k)
	return k
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeNodeStrict decodes a sub-node strictly; used by custom unmarshalers.
func decodeNodeStrict(n *yaml.Node, out any) error {
	d := &strictDecoder{}
	d.decode(n, reflect.ValueOf(out).Elem(), "")
	if len(d.errs) > 0 {
		return fmt.Errorf("%s", d.errs[0].Msg)
	}
	return nil
}
