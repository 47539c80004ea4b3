package policy

import (
	"fmt"
	"strings"

	"github.com/parcelflow/conveyor/config"
)

// CodeownersPaths are where GitHub looks for a CODEOWNERS file, in its order
// of preference; the first one present on the base branch is used.
var CodeownersPaths = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// Codeowners is a parsed CODEOWNERS file.
type Codeowners struct {
	File  string
	Rules []CodeownersRule
}

// CodeownersRule is one line of a CODEOWNERS file. A rule with no owners
// un-owns the paths it matches.
type CodeownersRule struct {
	Line    int      `json:"line"`
	Pattern string   `json:"pattern"`
	Owners  []string `json:"owners"`

	anchored bool     // leading or inner slash: match from the repository root
	dirOnly  bool     // trailing slash: match a directory, so only its contents
	segments []string // pattern split on '/', "**" kept as its own segment
}

// ParseCodeowners reads a CODEOWNERS file with GitHub's semantics. Like GitHub,
// it skips a line it cannot understand and keeps the rest; every skipped line
// is reported as a located error.
func ParseCodeowners(file string, data []byte) (*Codeowners, config.Errors) {
	co := &Codeowners{File: file}
	var errs config.Errors
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		fields, col, err := splitCodeownersLine(line)
		if err != nil {
			errs = append(errs, &config.Error{File: file, Line: n, Column: col, Msg: err.Error()})
			continue
		}
		if len(fields) == 0 {
			continue
		}
		rule, col, err := compileCodeownersRule(fields[0], line)
		if err != nil {
			errs = append(errs, &config.Error{File: file, Line: n, Column: col, Msg: err.Error()})
			continue
		}
		rule.Line = n
		bad := false
		for _, o := range fields[1:] {
			if err := validateOwner(o); err != nil {
				errs = append(errs, &config.Error{File: file, Line: n, Column: strings.Index(line, o) + 1, Msg: err.Error()})
				bad = true
			}
			rule.Owners = append(rule.Owners, o)
		}
		if bad {
			continue // GitHub ignores the whole line when an owner is invalid
		}
		co.Rules = append(co.Rules, rule)
	}
	return co, errs
}

// splitCodeownersLine splits a line into its pattern and owners, dropping a
// comment that starts a line or follows whitespace. A backslash escapes the
// next character (`\#` for a pattern starting with '#', `\ ` for a space).
func splitCodeownersLine(line string) ([]string, int, error) {
	var fields []string
	var cur strings.Builder
	inField := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\':
			if i+1 >= len(line) {
				return nil, i + 1, fmt.Errorf("a backslash at the end of a line escapes nothing")
			}
			cur.WriteByte('\\')
			cur.WriteByte(line[i+1])
			i++
			inField = true
		case c == '#' && !inField:
			i = len(line)
		case c == ' ' || c == '\t':
			if inField {
				fields = append(fields, cur.String())
				cur.Reset()
				inField = false
			}
		default:
			cur.WriteByte(c)
			inField = true
		}
	}
	if inField {
		fields = append(fields, cur.String())
	}
	return fields, 0, nil
}

// compileCodeownersRule turns a gitignore-style pattern into match segments.
// GitHub does not support `!` negation or `[ ]` character ranges.
func compileCodeownersRule(raw, line string) (CodeownersRule, int, error) {
	col := strings.Index(line, raw) + 1
	r := CodeownersRule{Pattern: unescape(raw)}
	if strings.HasPrefix(raw, "!") {
		return r, col, fmt.Errorf("negated pattern %q: CODEOWNERS does not support '!'", raw)
	}
	if strings.ContainsAny(strings.ReplaceAll(raw, `\[`, ""), "[") {
		return r, col, fmt.Errorf("pattern %q uses a character range: CODEOWNERS does not support '[ ]'", raw)
	}
	p := raw
	if strings.HasSuffix(p, "/") {
		r.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	if strings.HasPrefix(p, "/") {
		r.anchored = true
		p = strings.TrimLeft(p, "/")
	}
	if strings.Contains(p, "/") {
		r.anchored = true
	}
	if p == "" {
		// "/" alone owns the whole repository, like "*".
		r.anchored = false
		r.dirOnly = false
		r.segments = []string{"**"}
		return r, col, nil
	}
	for _, s := range strings.Split(p, "/") {
		switch {
		case s == "":
			return r, col, fmt.Errorf("pattern %q has an empty path segment", raw)
		case s == "**":
			if len(r.segments) > 0 && r.segments[len(r.segments)-1] == "**" {
				continue
			}
		case strings.Contains(s, "**"):
			// gitignore treats "**" inside a segment like "*".
			s = strings.ReplaceAll(s, "**", "*")
		}
		r.segments = append(r.segments, s)
	}
	if !r.anchored && r.segments[0] != "**" {
		r.segments = append([]string{"**"}, r.segments...)
	}
	return r, col, nil
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func validateOwner(o string) error {
	switch {
	case strings.HasPrefix(o, "@"):
		name := o[1:]
		org, team, isTeam := strings.Cut(name, "/")
		if isTeam {
			if !validLogin(org) || !validTeamSlug(team) {
				return fmt.Errorf("owner %q is not a valid @org/team-name", o)
			}
			return nil
		}
		if !validLogin(name) {
			return fmt.Errorf("owner %q is not a valid @username", o)
		}
		return nil
	case strings.Contains(o, "@"):
		local, domain, _ := strings.Cut(o, "@")
		if local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(domain, "@/") {
			return fmt.Errorf("owner %q is not a valid email address", o)
		}
		return nil
	}
	return fmt.Errorf("owner %q must be an @username, an @org/team-name or an email address", o)
}

// validLogin accepts GitHub logins: letters, digits and single inner hyphens
// (bots end in "[bot]").
func validLogin(s string) bool {
	s = strings.TrimSuffix(s, "[bot]")
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validTeamSlug(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Match returns the rule that decides path's owners: the last matching rule.
func (co *Codeowners) Match(path string) (CodeownersRule, bool) {
	if co == nil {
		return CodeownersRule{}, false
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(co.Rules) - 1; i >= 0; i-- {
		if co.Rules[i].matches(segs) {
			return co.Rules[i], true
		}
	}
	return CodeownersRule{}, false
}

// Owners returns path's code owners; nil when no rule or an owner-less rule matches.
func (co *Codeowners) Owners(path string) []string {
	r, ok := co.Match(path)
	if !ok {
		return nil
	}
	return r.Owners
}

// matches reports whether the rule owns the file at path segs: the pattern
// matches the file itself or one of its parent directories. Two exceptions
// follow GitHub: a trailing slash matches only directories, and a trailing
// "*" segment ("docs/*") matches only the files directly inside.
//
// One forward pass computes, for every prefix of the path, whether the whole
// pattern matches it, in O(len(pattern)·len(path)) without backtracking, so
// a pattern full of "**" cannot make matching explode.
func (r *CodeownersRule) matches(segs []string) bool {
	var buf [2][33]bool
	cur, next := buf[0][:], buf[1][:]
	if len(segs)+1 > len(cur) {
		cur, next = make([]bool, len(segs)+1), make([]bool, len(segs)+1)
	}
	cur, next = cur[:len(segs)+1], next[:len(segs)+1]
	// cur[j]: the pattern's first i segments match segs[:j].
	clear(cur)
	cur[0] = true
	n := len(r.segments)
	for i, p := range r.segments {
		if p == "**" {
			// "**" spans zero or more segments; at the end it needs at least
			// one ("foo/**" owns what is inside foo, not foo itself).
			atEnd := i == n-1
			seen := false
			for j := range next {
				if atEnd {
					next[j] = seen
					seen = seen || cur[j]
				} else {
					seen = seen || cur[j]
					next[j] = seen
				}
			}
		} else {
			next[0] = false
			for j := 1; j < len(next); j++ {
				next[j] = cur[j-1] && matchSegment(p, segs[j-1])
			}
		}
		cur, next = next, cur
	}
	last := r.segments[n-1]
	for k := len(segs); k >= 1; k-- {
		isFile := k == len(segs)
		if isFile && r.dirOnly || !isFile && last == "*" {
			continue
		}
		if cur[k] {
			return true
		}
	}
	return false
}

// matchSegment matches one segment: '*' any run of characters, '?' one
// character, '\' escapes; everything else literally (case-sensitive, like GitHub).
func matchSegment(pat, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			c := pat[px]
			switch c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			case '\\':
				if px+1 < len(pat) && sx < len(s) && pat[px+1] == s[sx] {
					px += 2
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}
