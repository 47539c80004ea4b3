package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/config"
)

// MaxCommandsPerComment bounds how many commands one comment may run.
const MaxCommandsPerComment = 10

// MaxErrorsPerComment bounds how many lines of one comment are reported as
// not understood; the last one reported counts the rest (ParseError.More).
// A comment of a thousand "/x" lines must not become a thousand replies.
const MaxErrorsPerComment = 10

// EnvArg says how a command names its environment, which decides how its
// permission is looked up.
type EnvArg int

// How commands name environments.
const (
	// EnvNone: the command acts on no environment (`/status`, `/help`).
	EnvNone EnvArg = iota
	// EnvRequired: the command names exactly one environment.
	EnvRequired
	// EnvOptionalAll: no environment means every environment (`/plan`).
	EnvOptionalAll
	// EnvOptionalFirst: no environment means the first of the chain (`/backfill`).
	EnvOptionalFirst
)

// CommandSpec describes one command. Like Prow's plugins, the help text and
// the authorization model live together, so `/help` can say who may run what.
type CommandSpec struct {
	Name  string
	Usage string
	Help  string
	Env   EnvArg
	// Public commands only read; anyone with write access may run them
	// unless `permissions` lists the command, which then applies.
	Public bool
	// BreakGlass commands accept `--break-glass <reason…>` to bypass a gate.
	BreakGlass bool
	parse      func(c *Command, args []string) error
}

// CommandSpecs returns the command registry in the order `/help` lists it.
func CommandSpecs() []CommandSpec {
	return []CommandSpec{
		{Name: "promote", Usage: "/promote <env> [--break-glass <reason…>]", Help: "Deploy this PR's release to <env> once every gate passes.", Env: EnvRequired, BreakGlass: true, parse: parsePromote},
		{Name: "rollback", Usage: "/rollback <env> [to <release>] [reason…]", Help: "Put <env> back on the previous release, or on <release> (a release ID or commit SHA, 7+ hex characters; other words after \"to\" are the reason).", Env: EnvRequired, parse: parseRollback},
		{Name: "backfill", Usage: "/backfill <dag_id> <start> <end> [--env <env>] [--break-glass <reason…>]", Help: "Run <dag_id> for the dates from <start> to <end> (YYYY-MM-DD or RFC 3339); the first environment unless --env.", Env: EnvOptionalFirst, BreakGlass: true, parse: parseBackfill},
		{Name: "plan", Usage: "/plan [env]", Help: "Show what a deploy would change, in <env> or in every environment.", Env: EnvOptionalAll, parse: parsePlan},
		{Name: "status", Usage: "/status", Help: "Show where this PR's release runs and which gates stand in its way.", Env: EnvNone, Public: true, parse: noArgs},
		{Name: "lock", Usage: "/lock <env> [reason…]", Help: "Stop everyone else from deploying to <env> until you /unlock it.", Env: EnvRequired, parse: envAndReason},
		{Name: "unlock", Usage: "/unlock <env>", Help: "Release a lock on <env>.", Env: EnvRequired, parse: envOnly},
		{Name: "freeze", Usage: "/freeze <env> <duration|until <time>> [reason…]", Help: "Stop every deploy to <env> for a duration (2h, 1d) or until a time (2026-12-24T18:00Z, until 2026-12-27).", Env: EnvRequired, parse: parseFreeze},
		{Name: "unfreeze", Usage: "/unfreeze <env>", Help: "Lift a freeze set with /freeze (calendar freezes stay).", Env: EnvRequired, parse: envOnly},
		{Name: "help", Usage: "/help", Help: "List the commands and who may run them.", Env: EnvNone, Public: true, parse: noArgs},
	}
}

// LookupCommand returns the spec of the command called name.
func LookupCommand(name string) (CommandSpec, bool) {
	for _, s := range CommandSpecs() {
		if s.Name == name {
			return s, true
		}
	}
	return CommandSpec{}, false
}

// Command is one parsed command from a PR comment.
type Command struct {
	Name string `json:"name"`
	// Line is the comment line the command was on (1-based).
	Line int    `json:"line"`
	Raw  string `json:"raw"`
	Env  string `json:"env,omitempty"`
	// Release is the target of `/rollback <env> to <release>`.
	Release string `json:"release,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// DagID, Start and End describe a backfill.
	DagID string    `json:"dag_id,omitempty"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// FreezeFor or FreezeUntil is how long a `/freeze` lasts.
	FreezeFor   time.Duration `json:"freeze_for,omitempty"`
	FreezeUntil time.Time     `json:"freeze_until,omitzero"`
	// BreakGlass is the reason given with --break-glass; empty when not asked.
	BreakGlass string `json:"break_glass,omitempty"`
}

// Arguments renders what the command asks for, argument by argument, in a
// fixed order ("env=prod release=3f9a0c1 reason=\"orders doubled\""): the
// audit log keeps it so a reader sees exactly what was asked, not only the
// hash of the inputs. Empty for a command without arguments.
func (c Command) Arguments() string {
	var parts []string
	add := func(key, value string) {
		if value != "" {
			parts = append(parts, key+"="+value)
		}
	}
	add("env", c.Env)
	add("release", c.Release)
	add("dag", c.DagID)
	if !c.Start.IsZero() {
		add("start", c.Start.UTC().Format(time.RFC3339))
	}
	if !c.End.IsZero() {
		add("end", c.End.UTC().Format(time.RFC3339))
	}
	if c.FreezeFor > 0 {
		add("for", c.FreezeFor.String())
	}
	if !c.FreezeUntil.IsZero() {
		add("until", c.FreezeUntil.UTC().Format(time.RFC3339))
	}
	if c.Reason != "" {
		add("reason", strconv.Quote(c.Reason))
	}
	if c.BreakGlass != "" {
		add("break_glass", strconv.Quote(c.BreakGlass))
	}
	return strings.Join(parts, " ")
}

// FreezeEnd resolves when a `/freeze` ends, given the time it was received.
func (c Command) FreezeEnd(now time.Time) (time.Time, error) {
	end := c.FreezeUntil
	if c.FreezeFor > 0 {
		end = now.Add(c.FreezeFor)
	}
	if !end.After(now) {
		return time.Time{}, fmt.Errorf("the freeze would end at %s, which has already passed", end.UTC().Format(time.RFC3339))
	}
	return end, nil
}

// TargetEnv is the environment the command acts on: the one it names, or its
// spec's default (the first environment for `/backfill`); empty for none or all.
func (c Command) TargetEnv(cfg *config.RepoConfig) string {
	if c.Env != "" {
		return c.Env
	}
	if spec, ok := LookupCommand(c.Name); ok && spec.Env == EnvOptionalFirst && cfg != nil && len(cfg.Environments) > 0 {
		return cfg.Environments[0].Name
	}
	return ""
}

// ParseError is a command that could not be understood; the reply quotes
// its usage.
type ParseError struct {
	Line    int    `json:"line"`
	Command string `json:"command"`
	Msg     string `json:"message"`
	Usage   string `json:"usage"`
	// More is how many further lines were not understood either; set only on
	// the last error reported when there were more than MaxErrorsPerComment.
	More int `json:"more,omitempty"`
}

func (e *ParseError) Error() string {
	msg := fmt.Sprintf("line %d: /%s: %s (usage: %s)", e.Line, e.Command, e.Msg, e.Usage)
	if e.More > 0 {
		msg += fmt.Sprintf("; and %d more line(s) not understood", e.More)
	}
	return msg
}

var (
	commandToken = regexp.MustCompile(`^/([A-Za-z][A-Za-z0-9_-]*)$`)
	envName      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	dagID        = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,250}$`)
	// releaseRef is what "/rollback <env> to <release>" accepts as a release:
	// a release ID or a prefix of one (hex, at least 7 characters, like a git
	// SHA) or a commit SHA. Anything else after "to" is the reason's text.
	releaseRef = regexp.MustCompile(`^[0-9A-Fa-f]{7,64}$`)
)

// ParseCommands finds the commands in a PR comment, in order. A command
// starts a line (after at most three spaces); lines inside fenced (``` or
// ~~~) or indented code blocks, block quotes and HTML comments are ignored,
// so quoting a command never runs it. A line starting with "/word" where
// word is not a command is reported as unknown; "/path/to/file" is not a
// command at all. At most MaxErrorsPerComment errors are returned.
func ParseCommands(body string) ([]Command, []ParseError) {
	var cmds []Command
	var errs []ParseError
	addErr := func(e ParseError) {
		if len(errs) < MaxErrorsPerComment {
			errs = append(errs, e)
		} else {
			errs[len(errs)-1].More++
		}
	}
	var fence string // the open fence's marker, e.g. "```" or "~~~~"
	inComment := false
	for i, line := range strings.Split(body, "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r")
		indent, rest := leadingIndent(line)
		if fence != "" {
			if indent <= 3 && strings.HasPrefix(rest, fence) && strings.Trim(rest, fence[:1]+" \t") == "" {
				fence = ""
			}
			continue
		}
		if inComment {
			// What follows the comment's close is read as text, and may open
			// another comment; a line that had a comment in it starts no command.
			i := strings.Index(line, "-->")
			if i < 0 {
				continue
			}
			_, inComment = stripHTMLComments(line[i+3:])
			continue
		}
		if indent >= 4 {
			continue // indented code block
		}
		if f := openingFence(rest); f != "" {
			fence = f
			continue
		}
		if strings.HasPrefix(rest, "<!--") {
			_, inComment = stripHTMLComments(rest)
			continue
		}
		if strings.Contains(rest, "<!--") {
			// A comment opened mid-line hides the rest of the line and, until
			// it closes, the lines after it.
			rest, inComment = stripHTMLComments(rest)
		}
		if !strings.HasPrefix(rest, "/") {
			continue
		}
		fields := strings.Fields(rest)
		m := commandToken.FindStringSubmatch(fields[0])
		if m == nil {
			continue
		}
		name := strings.ToLower(m[1])
		spec, ok := LookupCommand(name)
		if !ok {
			msg := "unknown command; try " + strings.Join(commandNames(), ", ")
			if name == "approve" {
				msg = "approvals are given in a review (Files changed → Review changes → Approve), with /approve <subject> in the review body"
			}
			addErr(ParseError{Line: n, Command: name, Msg: msg, Usage: "/help"})
			continue
		}
		if len(cmds) == MaxCommandsPerComment {
			addErr(ParseError{Line: n, Command: name, Msg: fmt.Sprintf("one comment runs at most %d commands", MaxCommandsPerComment), Usage: spec.Usage})
			continue
		}
		c := Command{Name: name, Line: n, Raw: strings.TrimSpace(rest)}
		if err := spec.parse(&c, fields[1:]); err != nil {
			addErr(ParseError{Line: n, Command: name, Msg: err.Error(), Usage: spec.Usage})
			continue
		}
		cmds = append(cmds, c)
	}
	return cmds, errs
}

// stripHTMLComments removes the HTML comments from one line and reports
// whether a comment is still open at its end. Code spans are kept as they
// are: "<!--" inside backticks is text, not a comment.
func stripHTMLComments(line string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(line); {
		switch {
		case line[i] == '`':
			n := 1
			for i+n < len(line) && line[i+n] == '`' {
				n++
			}
			end := strings.Index(line[i+n:], line[i:i+n])
			if end < 0 {
				b.WriteString(line[i : i+n]) // unmatched backticks are plain text
				i += n
				continue
			}
			b.WriteString(line[i : i+n+end+n])
			i += n + end + n
		case strings.HasPrefix(line[i:], "<!--"):
			end := strings.Index(line[i+4:], "-->")
			if end < 0 {
				return b.String(), true
			}
			i += 4 + end + 3
		default:
			b.WriteByte(line[i])
			i++
		}
	}
	return b.String(), false
}

func leadingIndent(line string) (int, string) {
	width := 0
	for i, r := range line {
		switch r {
		case ' ':
			width++
		case '\t':
			width += 4 - width%4
		default:
			return width, line[i:]
		}
	}
	return width, ""
}

// openingFence returns the fence marker if s opens a fenced code block.
func openingFence(s string) string {
	for _, ch := range []byte{'`', '~'} {
		n := 0
		for n < len(s) && s[n] == ch {
			n++
		}
		if n >= 3 {
			if ch == '`' && strings.Contains(s[n:], "`") {
				return "" // inline code, not a fence
			}
			return s[:n]
		}
	}
	return ""
}

func commandNames() []string {
	var out []string
	for _, s := range CommandSpecs() {
		out = append(out, "/"+s.Name)
	}
	return out
}

func checkEnv(s string) error {
	if !envName.MatchString(s) {
		return fmt.Errorf("%q is not an environment name", s)
	}
	return nil
}

// splitBreakGlass separates "--break-glass <reason…>" from the other arguments.
func splitBreakGlass(c *Command, args []string) ([]string, error) {
	for i, a := range args {
		if a == "--break-glass" {
			reason := strings.Join(args[i+1:], " ")
			if strings.TrimSpace(reason) == "" {
				return nil, fmt.Errorf("--break-glass needs a reason")
			}
			c.BreakGlass = reason
			return args[:i], nil
		}
	}
	return args, nil
}

func parsePromote(c *Command, args []string) error {
	args, err := splitBreakGlass(c, args)
	if err != nil {
		return err
	}
	switch len(args) {
	case 0:
		return fmt.Errorf("needs an environment")
	case 1:
		c.Env = args[0]
		return checkEnv(c.Env)
	}
	return fmt.Errorf("takes one environment, got %q", strings.Join(args, " "))
}

func parseRollback(c *Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("needs an environment")
	}
	c.Env = args[0]
	if err := checkEnv(c.Env); err != nil {
		return err
	}
	args = args[1:]
	if len(args) > 0 && strings.EqualFold(args[0], "to") {
		switch {
		case len(args) == 1:
			return fmt.Errorf("\"to\" needs a release: its ID or a commit SHA, at least 7 hex characters")
		case releaseRef.MatchString(args[1]):
			c.Release = strings.ToLower(args[1])
			args = args[2:]
		case strings.ContainsAny(args[1], "0123456789"):
			// A word with digits after "to" was meant as a release (a typo
			// in a SHA, a version tag): rolling back to the previous release
			// instead would do what nobody asked.
			return fmt.Errorf("%q is not a release: give its ID or a commit SHA, at least 7 hex characters", args[1])
		}
		// "/rollback prod to be safe": "to" starts the reason.
	}
	c.Reason = strings.Join(args, " ")
	return nil
}

func parseBackfill(c *Command, args []string) error {
	args, err := splitBreakGlass(c, args)
	if err != nil {
		return err
	}
	var pos []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--env":
			if i+1 >= len(args) {
				return fmt.Errorf("--env needs an environment")
			}
			c.Env = args[i+1]
			if err := checkEnv(c.Env); err != nil {
				return err
			}
			i++
		case strings.HasPrefix(args[i], "--env="):
			c.Env = strings.TrimPrefix(args[i], "--env=")
			if err := checkEnv(c.Env); err != nil {
				return err
			}
		case strings.HasPrefix(args[i], "--"):
			return fmt.Errorf("unknown option %s", args[i])
		default:
			pos = append(pos, args[i])
		}
	}
	if len(pos) != 3 {
		return fmt.Errorf("needs a dag_id, a start and an end, got %d argument(s)", len(pos))
	}
	if !dagID.MatchString(pos[0]) {
		return fmt.Errorf("%q is not a dag_id", pos[0])
	}
	c.DagID = pos[0]
	if c.Start, err = parseInstant(pos[1]); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if c.End, err = parseInstant(pos[2]); err != nil {
		return fmt.Errorf("end: %w", err)
	}
	if c.End.Before(c.Start) {
		return fmt.Errorf("end %s is before start %s", pos[2], pos[1])
	}
	return nil
}

func parsePlan(c *Command, args []string) error {
	switch len(args) {
	case 0:
		return nil
	case 1:
		c.Env = args[0]
		return checkEnv(c.Env)
	}
	return fmt.Errorf("takes at most one environment, got %q", strings.Join(args, " "))
}

func noArgs(_ *Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("takes no arguments, got %q", strings.Join(args, " "))
	}
	return nil
}

func envOnly(c *Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("needs exactly one environment")
	}
	c.Env = args[0]
	return checkEnv(c.Env)
}

func envAndReason(c *Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("needs an environment")
	}
	c.Env = args[0]
	c.Reason = strings.Join(args[1:], " ")
	return checkEnv(c.Env)
}

func parseFreeze(c *Command, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("needs an environment and a duration or an end time")
	}
	c.Env = args[0]
	if err := checkEnv(c.Env); err != nil {
		return err
	}
	args = args[1:]
	if strings.EqualFold(args[0], "until") {
		if len(args) < 2 {
			return fmt.Errorf("\"until\" needs a time like 2026-12-27 or 2026-12-24T18:00Z")
		}
		t, err := parseInstant(args[1])
		if err != nil {
			return err
		}
		c.FreezeUntil = t
		c.Reason = strings.Join(args[2:], " ")
		return nil
	}
	if t, err := parseInstant(args[0]); err == nil {
		c.FreezeUntil = t
	} else {
		d, err := config.ParseDuration(args[0])
		if err != nil {
			return fmt.Errorf("expected a duration like 2h or 1d, or a time like 2026-12-24T18:00Z, got %q", args[0])
		}
		if d <= 0 {
			return fmt.Errorf("a freeze must last longer than zero, got %q", args[0])
		}
		c.FreezeFor = d
	}
	c.Reason = strings.Join(args[1:], " ")
	return nil
}

// parseInstant reads a date (midnight UTC) or an RFC 3339 time, with or
// without seconds.
func parseInstant(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("expected a date like 2026-12-27 or a time like 2026-12-24T18:00Z, got %q", s)
}
