package airflow

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// fileRules runs the rules that read the source as written rather than as
// evaluated: upgrade readiness and hard-coded credentials.
func fileRules(in *interp, t *ptree) {
	for n := int32(0); int(n) < len(t.nodes); n++ {
		switch t.nodes[n].kind {
		case "import_statement", "import_from_statement":
			if !inside(t, n, "except_clause") {
				importRules(in, t, n)
			}
		case "keyword_argument":
			kwargRules(in, t, n)
		case "string":
			stringRules(in, t, n)
		}
	}
	secretPatterns(in, t)
	sqlRules(in, t)
}

func nodePos(t *ptree, n int32) argPos {
	x := &t.nodes[n]
	return argPos{int(x.line), int(x.col), int(x.eline), int(x.ecol)}
}

// airflow1Modules maps Airflow 1.10 module paths to their Airflow 2 homes.
var airflow1Modules = map[string]string{
	"airflow.operators.bash_operator":              "airflow.operators.bash",
	"airflow.operators.python_operator":            "airflow.operators.python",
	"airflow.operators.dummy_operator":             "airflow.operators.empty (EmptyOperator)",
	"airflow.operators.email_operator":             "airflow.operators.email",
	"airflow.operators.subdag_operator":            "a TaskGroup (SubDAGs are removed in Airflow 3)",
	"airflow.operators.dagrun_operator":            "airflow.operators.trigger_dagrun",
	"airflow.operators.latest_only_operator":       "airflow.operators.latest_only",
	"airflow.operators.branch_operator":            "airflow.operators.branch",
	"airflow.operators.check_operator":             "airflow.providers.common.sql.operators.sql",
	"airflow.operators.sql_branch_operator":        "airflow.providers.common.sql.operators.sql",
	"airflow.operators.postgres_operator":          "airflow.providers.common.sql.operators.sql (SQLExecuteQueryOperator)",
	"airflow.operators.mysql_operator":             "airflow.providers.common.sql.operators.sql (SQLExecuteQueryOperator)",
	"airflow.operators.http_operator":              "airflow.providers.http.operators.http",
	"airflow.hooks.base_hook":                      "airflow.hooks.base",
	"airflow.hooks.dbapi_hook":                     "airflow.providers.common.sql.hooks.sql",
	"airflow.hooks.postgres_hook":                  "airflow.providers.postgres.hooks.postgres",
	"airflow.hooks.S3_hook":                        "airflow.providers.amazon.aws.hooks.s3",
	"airflow.hooks.http_hook":                      "airflow.providers.http.hooks.http",
	"airflow.sensors.base_sensor_operator":         "airflow.sensors.base",
	"airflow.sensors.external_task_sensor":         "airflow.sensors.external_task",
	"airflow.sensors.s3_key_sensor":                "airflow.providers.amazon.aws.sensors.s3",
	"airflow.sensors.sql_sensor":                   "airflow.providers.common.sql.sensors.sql",
	"airflow.sensors.time_delta_sensor":            "airflow.sensors.time_delta",
	"airflow.sensors.http_sensor":                  "airflow.providers.http.sensors.http",
	"airflow.operators.s3_file_transform_operator": "airflow.providers.amazon.aws.operators.s3",
}

// airflow3Removed are names Airflow 3 no longer has, with what to use instead.
var airflow3Removed = map[string]string{
	"DummyOperator":            "EmptyOperator",
	"SubDagOperator":           "a TaskGroup",
	"days_ago":                 "a fixed start_date such as pendulum.datetime(2024, 1, 1, tz=\"UTC\")",
	"airflow.utils.dates":      "pendulum or datetime",
	"airflow.operators.dummy":  "airflow.providers.standard.operators.empty",
	"airflow.operators.subdag": "a TaskGroup",
}

// airflow3Moved are import paths that still work in Airflow 3 but moved;
// reported only when the target version is 3 or later.
var airflow3Moved = map[string]string{
	"airflow.operators.bash":           "airflow.providers.standard.operators.bash",
	"airflow.operators.python":         "airflow.providers.standard.operators.python",
	"airflow.operators.empty":          "airflow.providers.standard.operators.empty",
	"airflow.operators.trigger_dagrun": "airflow.providers.standard.operators.trigger_dagrun",
	"airflow.operators.latest_only":    "airflow.providers.standard.operators.latest_only",
	"airflow.operators.branch":         "airflow.providers.standard.operators.branch",
	"airflow.operators.datetime":       "airflow.providers.standard.operators.datetime",
	"airflow.operators.weekday":        "airflow.providers.standard.operators.weekday",
	"airflow.sensors.external_task":    "airflow.providers.standard.sensors.external_task",
	"airflow.sensors.time_delta":       "airflow.providers.standard.sensors.time_delta",
	"airflow.sensors.filesystem":       "airflow.providers.standard.sensors.filesystem",
	"airflow.sensors.date_time":        "airflow.providers.standard.sensors.date_time",
	"airflow.decorators":               "airflow.sdk",
	"airflow.models.dag":               "airflow.sdk",
	"airflow.datasets":                 "airflow.sdk (Asset)",
	"airflow.utils.task_group":         "airflow.sdk",
	"airflow.models.baseoperator":      "airflow.sdk",
}

// airflow3MovedNames are names imported from `airflow` or `airflow.models`
// that Airflow 3 serves from airflow.sdk.
var airflow3MovedNames = map[string]bool{"DAG": true, "Variable": true, "Dataset": true, "BaseOperator": true}

func importRules(in *interp, t *ptree, n int32) {
	var mods []string
	var names []string
	switch t.kind(n) {
	case "import_statement":
		for _, nm := range t.fields(n, "name") {
			if t.kind(nm) == "aliased_import" {
				nm = t.field(nm, "name")
			}
			mods = append(mods, t.text(nm))
		}
	case "import_from_statement":
		mods = []string{t.text(t.field(n, "module_name"))}
		for _, nm := range t.fields(n, "name") {
			if t.kind(nm) == "aliased_import" {
				nm = t.field(nm, "name")
			}
			names = append(names, t.text(nm))
		}
	}
	p := nodePos(t, n)
	for _, m := range mods {
		if !strings.HasPrefix(m, "airflow") {
			continue
		}
		if to, ok := airflow1Modules[m]; ok {
			in.addFinding(RuleAirflow1Import, p, "", fmt.Sprintf("%s is an Airflow 1 import path (deprecated in 2, gone in 3); import from %s", m, to))
		} else if strings.HasPrefix(m, "airflow.contrib") {
			in.addFinding(RuleAirflow1Import, p, "", fmt.Sprintf("%s is an Airflow 1 contrib path (gone in 3); import from the matching apache-airflow-providers-* package", m))
		} else if isAirflow1Shape(m) {
			in.addFinding(RuleAirflow1Import, p, "", fmt.Sprintf("%s is an Airflow 1 import path (deprecated in 2, gone in 3)", m))
		}
		if to, ok := airflow3Removed[m]; ok && len(names) == 0 {
			// `from <removed module> import x` is reported once per name
			// below; the module on its own only for `import m` or `import *`.
			in.addFinding(RuleAirflow3Removed, p, "", fmt.Sprintf("%s is removed in Airflow 3; use %s", m, to))
		}
		if to, ok := airflow3Moved[m]; ok {
			in.addMoved(p, fmt.Sprintf("%s moved in Airflow 3; import from %s", m, to))
		}
		if m == "airflow" || m == "airflow.models" {
			for _, nm := range names {
				if airflow3MovedNames[nm] {
					in.addMoved(p, fmt.Sprintf("`from %s import %s` moved in Airflow 3; import it from airflow.sdk", m, nm))
				}
			}
		}
	}
	if len(mods) != 1 || !strings.HasPrefix(mods[0], "airflow") {
		return
	}
	// One finding per imported name at most: a name removed on its own
	// names its own replacement; any other name of a removed module goes
	// with the module, so `from airflow.utils.dates import days_ago` is one
	// finding, not one for the module and another for days_ago.
	modTo, modGone := airflow3Removed[mods[0]]
	for _, nm := range names {
		if to, ok := airflow3Removed[nm]; ok {
			msg := fmt.Sprintf("%s is removed in Airflow 3; use %s", nm, to)
			if modGone {
				msg = fmt.Sprintf("%s is removed in Airflow 3 with %s; use %s", nm, mods[0], to)
			}
			in.addFinding(RuleAirflow3Removed, p, "", msg)
		} else if modGone {
			in.addFinding(RuleAirflow3Removed, p, "", fmt.Sprintf("%s is removed in Airflow 3 with %s; use %s", nm, mods[0], modTo))
		}
	}
}

func isAirflow1Shape(m string) bool {
	parts := strings.Split(m, ".")
	if len(parts) != 3 || parts[0] != "airflow" {
		return false
	}
	if parts[1] != "operators" && parts[1] != "hooks" && parts[1] != "sensors" {
		return false
	}
	return strings.HasSuffix(parts[2], "_operator") || strings.HasSuffix(parts[2], "_hook") || strings.HasSuffix(parts[2], "_sensor")
}

// addMoved records a finding that only matters when targeting Airflow 3.
func (in *interp) addMoved(p argPos, msg string) {
	in.addFinding(RuleAirflow3Removed, p, "", msg+movedMarker)
}

// movedMarker tags findings the check drops when the target is Airflow 2.
const movedMarker = " (deprecated path)"

// airflow3Kwargs are constructor arguments Airflow 3 removed.
var airflow3Kwargs = map[string]string{
	"schedule_interval": "schedule",
	"timetable":         "schedule",
	"concurrency":       "max_active_tasks",
	"task_concurrency":  "max_active_tis_per_dag",
	"provide_context":   "nothing: the context is always passed to callables that accept **context",
	"sla_miss_callback": "deadline alerts",
	"sla":               "deadline alerts",
	"fail_stop":         "fail_fast",
	"full_filepath":     "nothing",
}

func kwargRules(in *interp, t *ptree, n int32) {
	name := t.text(t.field(n, "name"))
	to, ok := airflow3Kwargs[name]
	if !ok {
		return
	}
	call := t.nodes[n].parent
	if call >= 0 {
		call = t.nodes[call].parent
	}
	if call < 0 || t.kind(call) != "call" || !airflowCall(t, call) {
		return
	}
	in.addFinding(RuleAirflow3Removed, nodePos(t, n), "", fmt.Sprintf("%s= is removed in Airflow 3; use %s", name, to))
}

// airflowCall reports whether a call looks like a DAG, decorator or operator
// constructor, so generic argument names elsewhere are not flagged.
func airflowCall(t *ptree, call int32) bool {
	fn := t.text(t.field(call, "function"))
	last := lastSeg(fn)
	if last == "DAG" || last == "dag" || strings.HasSuffix(last, "Operator") || strings.HasSuffix(last, "Sensor") || strings.HasPrefix(fn, "task") {
		return true
	}
	args := t.field(call, "arguments")
	for _, a := range t.namedChildren(args) {
		if t.kind(a) == "keyword_argument" && t.text(t.field(a, "name")) == "task_id" {
			return true
		}
	}
	return false
}

var removedTemplateVars = regexp.MustCompile(`\{\{[^}]*?\b(execution_date|next_execution_date|prev_execution_date|prev_execution_date_success|next_ds|next_ds_nodash|prev_ds|prev_ds_nodash|tomorrow_ds|tomorrow_ds_nodash|yesterday_ds|yesterday_ds_nodash)\b`)

// secretWords are the words of a name that say it holds a credential; the
// separator inside a two-word one is optional ("api_key", "apikey").
var secretWords = [...]string{"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_key", "accesskey",
	"secret_key", "secretkey", "private_key", "privatekey", "client_secret"}

// notSecretSuffixes end names that refer to a credential rather than hold
// one: "password_env", "token_path", "secret_arn".
var notSecretSuffixes = [...]string{"_id", "_ids", "_name", "_env", "_var", "_path", "_file", "_arn", "_conn", "_field", "_header",
	"_url", "_type", "_prefix", "_backend", "_kwargs", "_length", "_ttl", "_expiry", "_uri_template"}

// isSecretName reports whether a keyword, dict key or variable name holds a
// credential: one of secretWords as a whole _-separated word, and none of
// notSecretSuffixes at the end. It runs on every name a string is bound to,
// so it is plain string search rather than a case-insensitive regexp.
func isSecretName(name string) bool {
	k := strings.ToLower(name)
	for _, s := range notSecretSuffixes {
		if strings.HasSuffix(k, s) {
			return false
		}
	}
	for _, w := range secretWords {
		for off := 0; ; {
			j := strings.Index(k[off:], w)
			if j < 0 {
				break
			}
			j += off
			end := j + len(w)
			if (j == 0 || k[j-1] == '_') && (end == len(k) || k[end] == '_') {
				return true
			}
			off = j + 1
		}
	}
	return false
}

var secretPathShape = regexp.MustCompile(`^[a-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
var envVarShape = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func stringRules(in *interp, t *ptree, n int32) {
	x := &t.nodes[n]
	if raw := t.src[x.start:x.end]; !bytes.Contains(raw, []byte("{{")) {
		// no template, nothing to check
	} else if m := removedTemplateVars.FindSubmatch(raw); m != nil {
		in.addFinding(RuleAirflow3Removed, nodePos(t, n), "", fmt.Sprintf("template variable %s is removed in Airflow 3; use logical_date, data_interval_start or data_interval_end", m[1]))
	}
	key := secretContext(t, n)
	if key == "" || !isSecretName(key) {
		return
	}
	v := stringLiteral(t, n)
	if !looksLikeSecret(v) {
		return
	}
	in.addFinding(RuleHardcodedSecret, nodePos(t, n), "", fmt.Sprintf("%s is set to a literal (%s); anyone with read access to the repo or the MWAA bucket has it. Store it in an Airflow connection or the secrets backend", key, redact(v)))
}

// secretContext returns the name a string literal is bound to: a keyword
// argument, a dict key or an assignment target.
func secretContext(t *ptree, n int32) string {
	p := t.nodes[n].parent
	if p < 0 {
		return ""
	}
	switch t.kind(p) {
	case "keyword_argument":
		if t.nodes[n].field == "value" {
			return t.text(t.field(p, "name"))
		}
	case "pair":
		if t.nodes[n].field == "value" {
			k := t.field(p, "key")
			if t.kind(k) == "string" {
				return stringLiteral(t, k)
			}
		}
	case "assignment":
		if t.nodes[n].field == "right" {
			l := t.field(p, "left")
			if t.kind(l) == "identifier" {
				return t.text(l)
			}
			if t.kind(l) == "attribute" {
				return t.text(t.field(l, "attribute"))
			}
		}
	}
	return ""
}

// stringLiteral returns a plain string literal's content, without evaluation.
func stringLiteral(t *ptree, n int32) string {
	var b strings.Builder
	for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
		switch t.kind(c) {
		case "string_content":
			writeContent(&b, t, c)
		case "interpolation":
			b.WriteString("{…}")
		}
	}
	return b.String()
}

func looksLikeSecret(v string) bool {
	if len(v) < 6 || strings.ContainsAny(v, " \n\t") {
		return false
	}
	switch {
	case strings.Contains(v, "{{"), strings.Contains(v, "{%"), strings.Contains(v, "{…}"),
		strings.HasPrefix(v, "$"), strings.HasPrefix(v, "%("), strings.HasPrefix(v, "arn:"),
		strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">"),
		envVarShape.MatchString(v), secretPathShape.MatchString(v):
		return false
	}
	return true
}

func redact(v string) string {
	if len(v) <= 4 {
		return "****"
	}
	return v[:4] + strings.Repeat("*", min(len(v)-4, 8))
}

// credentialPatterns find credentials by shape, wherever they appear.
// Each pattern has literal hints; the regexp only runs on files containing
// one, which keeps the scan off the hot path for the common clean file.
var credentialPatterns = []struct {
	hints []string
	re    *regexp.Regexp
	what  string
}{
	{[]string{"AKIA", "ASIA"}, regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`), "an AWS access key ID"},
	{[]string{"PRIVATE KEY-----"}, regexp.MustCompile(`-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----`), "a private key"},
	{[]string{"ghp_", "gho_", "ghs_", "ghu_"}, regexp.MustCompile(`\b(ghp|gho|ghs|ghu)_[A-Za-z0-9]{36}\b`), "a GitHub token"},
	{[]string{"xox"}, regexp.MustCompile(`\bxox[abpr]-[A-Za-z0-9-]{10,}`), "a Slack token"},
	{[]string{"://"}, regexp.MustCompile(`\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@'"]+:([^\s@/'"{}$<>*]{3,})@[^\s'"]+`), "a connection URI with an inline password"},
}

func secretPatterns(in *interp, t *ptree) {
	src := t.src
	for _, p := range credentialPatterns {
		hinted := false
		for _, h := range p.hints {
			hinted = hinted || bytes.Contains(src, []byte(h))
		}
		if !hinted || p.what == "a connection URI with an inline password" && !bytes.Contains(src, []byte("@")) {
			continue
		}
		for _, loc := range p.re.FindAllIndex(src, 8) {
			line, col := lineCol(src, loc[0])
			v := string(src[loc[0]:loc[1]])
			in.addFinding(RuleHardcodedSecret, argPos{line, col, line, col + len(v)}, "", fmt.Sprintf("%s is written in the file (%s); rotate it and load it from an Airflow connection or the secrets backend", p.what, redact(v)))
		}
	}
}

func lineCol(src []byte, off int) (int, int) {
	line, start := 1, 0
	for j := 0; j < off && j < len(src); j++ {
		if src[j] == '\n' {
			line++
			start = j + 1
		}
	}
	return line, off - start + 1
}
