package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCommands(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	tests := []struct {
		name     string
		body     string
		want     []Command
		errLines []int
		errMsg   string
	}{
		{name: "promote", body: "/promote staging", want: []Command{{Name: "promote", Line: 1, Raw: "/promote staging", Env: "staging"}}},
		{name: "leading spaces and case", body: "  /Promote prod", want: []Command{{Name: "promote", Line: 1, Raw: "/Promote prod", Env: "prod"}}},
		{name: "several in order", body: "thanks!\n/lock prod migration running\n/plan\n/status",
			want: []Command{{Name: "lock", Line: 2, Raw: "/lock prod migration running", Env: "prod", Reason: "migration running"}, {Name: "plan", Line: 3, Raw: "/plan"}, {Name: "status", Line: 4, Raw: "/status"}}},
		{name: "mid-line is not a command", body: "please /promote prod"},
		{name: "a path is not a command", body: "/dags/orders.py is broken"},
		{name: "fenced backticks", body: "```\n/promote prod\n```\n/status", want: []Command{{Name: "status", Line: 4, Raw: "/status"}}},
		{name: "fenced tildes with info", body: "~~~~sh\n/promote prod\n~~~\n/unlock dev\n~~~~\n/help", want: []Command{{Name: "help", Line: 6, Raw: "/help"}}},
		{name: "unclosed fence hides the rest", body: "```\n/promote prod"},
		{name: "indented code", body: "    /promote prod\n\t/promote prod"},
		{name: "quote", body: "> /promote prod\n>/rollback prod"},
		{name: "inline code", body: "`/promote prod` is how"},
		{name: "inline triple backticks are not a fence", body: "```/promote prod```\n/status", want: []Command{{Name: "status", Line: 2, Raw: "/status"}}},
		{name: "html comment", body: "<!--\n/promote prod\n-->\n<!-- /lock prod -->\n/status", want: []Command{{Name: "status", Line: 5, Raw: "/status"}}},
		{name: "html comment opened mid-line hides the lines after it", body: "notes <!-- drafts\n/promote prod\n/unlock prod\n-->\n/status",
			want: []Command{{Name: "status", Line: 5, Raw: "/status"}}},
		{name: "html comment opened after a command hides the rest", body: "/lock prod release <!-- later\n/promote prod\n-->",
			want: []Command{{Name: "lock", Line: 1, Raw: "/lock prod release", Env: "prod", Reason: "release"}}},
		{name: "html comment closed on its line hides only itself", body: "/lock prod <!-- quietly --> train\n/status",
			want: []Command{{Name: "lock", Line: 1, Raw: "/lock prod  train", Env: "prod", Reason: "train"}, {Name: "status", Line: 2, Raw: "/status"}}},
		{name: "html comment closed then opened again", body: "a <!-- x --> b <!-- y\n/promote prod\n--> done\n/status",
			want: []Command{{Name: "status", Line: 4, Raw: "/status"}}},
		{name: "a comment that closes and reopens on one line keeps hiding", body: "<!-- x\ny --> <!-- z\n/promote prod\n-->\n/status",
			want: []Command{{Name: "status", Line: 5, Raw: "/status"}}},
		{name: "comment opener in a code span is text", body: "type `<!--` to hide text\n/status", want: []Command{{Name: "status", Line: 2, Raw: "/status"}}},
		{name: "comment opener after unmatched backticks still opens", body: "a ` b <!-- c\n/promote prod\n-->"},
		{name: "crlf", body: "/unfreeze prod\r\n", want: []Command{{Name: "unfreeze", Line: 1, Raw: "/unfreeze prod", Env: "prod"}}},
		{name: "rollback", body: "/rollback prod", want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback prod", Env: "prod"}}},
		{name: "rollback to a release prefix with reason", body: "/rollback prod to 3f9a0c1 orders doubled",
			want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback prod to 3f9a0c1 orders doubled", Env: "prod", Release: "3f9a0c1", Reason: "orders doubled"}}},
		{name: "rollback to a full release ID", body: "/rollback prod to " + strings.Repeat("ab", 32),
			want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback prod to " + strings.Repeat("ab", 32), Env: "prod", Release: strings.Repeat("ab", 32)}}},
		{name: "rollback to a commit SHA, upper case", body: "/rollback staging to 0123456789ABCDEF0123456789ABCDEF01234567",
			want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback staging to 0123456789ABCDEF0123456789ABCDEF01234567", Env: "staging", Release: "0123456789abcdef0123456789abcdef01234567"}}},
		{name: "rollback to be safe is a reason", body: "/rollback prod to be safe",
			want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback prod to be safe", Env: "prod", Reason: "to be safe"}}},
		{name: "rollback to a word of hex letters too short", body: "/rollback prod to face the incident",
			want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback prod to face the incident", Env: "prod", Reason: "to face the incident"}}},
		// A word with digits after "to" was meant as a release: refused, not
		// read as the reason of a rollback to the previous release.
		{name: "rollback to a name that is not a release ID", body: "/rollback prod to r-20260301-abc123 orders doubled",
			errLines: []int{1}, errMsg: `"r-20260301-abc123" is not a release`},
		{name: "rollback too short a hex prefix", body: "/rollback prod to abc123",
			errLines: []int{1}, errMsg: `"abc123" is not a release`},
		{name: "rollback to a mistyped SHA", body: "/rollback prod to 3f9a0cz",
			errLines: []int{1}, errMsg: "at least 7 hex characters"},
		{name: "rollback reason mentioning to later", body: "/rollback prod back to yesterday",
			want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback prod back to yesterday", Env: "prod", Reason: "back to yesterday"}}},
		{name: "rollback with reason only", body: "/rollback staging broken dashboards",
			want: []Command{{Name: "rollback", Line: 1, Raw: "/rollback staging broken dashboards", Env: "staging", Reason: "broken dashboards"}}},
		{name: "backfill", body: "/backfill orders_daily 2026-01-01 2026-01-31 --env prod",
			want: []Command{{Name: "backfill", Line: 1, Raw: "/backfill orders_daily 2026-01-01 2026-01-31 --env prod", DagID: "orders_daily", Start: day("2026-01-01"), End: day("2026-01-31"), Env: "prod"}}},
		{name: "backfill default env", body: "/backfill orders_daily 2026-01-01 2026-01-01",
			want: []Command{{Name: "backfill", Line: 1, Raw: "/backfill orders_daily 2026-01-01 2026-01-01", DagID: "orders_daily", Start: day("2026-01-01"), End: day("2026-01-01")}}},
		{name: "promote break-glass", body: "/promote prod --break-glass revenue dashboard down",
			want: []Command{{Name: "promote", Line: 1, Raw: "/promote prod --break-glass revenue dashboard down", Env: "prod", BreakGlass: "revenue dashboard down"}}},
		{name: "freeze duration", body: "/freeze prod 2h incident 42",
			want: []Command{{Name: "freeze", Line: 1, Raw: "/freeze prod 2h incident 42", Env: "prod", FreezeFor: 2 * time.Hour, Reason: "incident 42"}}},
		{name: "freeze days", body: "/freeze prod 1d", want: []Command{{Name: "freeze", Line: 1, Raw: "/freeze prod 1d", Env: "prod", FreezeFor: 24 * time.Hour}}},
		{name: "freeze until a time", body: "/freeze prod 2026-12-24T18:00Z holidays",
			want: []Command{{Name: "freeze", Line: 1, Raw: "/freeze prod 2026-12-24T18:00Z holidays", Env: "prod", FreezeUntil: time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC), Reason: "holidays"}}},
		{name: "freeze until a date", body: "/freeze prod until 2026-12-27",
			want: []Command{{Name: "freeze", Line: 1, Raw: "/freeze prod until 2026-12-27", Env: "prod", FreezeUntil: day("2026-12-27")}}},

		{name: "unknown command", body: "/deploy prod", errLines: []int{1}, errMsg: "unknown command"},
		{name: "approve in a comment", body: "/approve plan:abc", errLines: []int{1}, errMsg: "given in a review"},
		{name: "promote without env", body: "/promote", errLines: []int{1}, errMsg: "needs an environment"},
		{name: "promote with extra words", body: "/promote prod please", errLines: []int{1}, errMsg: "takes one environment"},
		{name: "bad env name", body: "/promote Prod!", errLines: []int{1}, errMsg: "not an environment name"},
		{name: "break-glass without reason", body: "/promote prod --break-glass", errLines: []int{1}, errMsg: "needs a reason"},
		{name: "rollback to nothing", body: "/rollback prod to", errLines: []int{1}, errMsg: "needs a release"},
		{name: "backfill missing end", body: "/backfill orders 2026-01-01", errLines: []int{1}, errMsg: "needs a dag_id, a start and an end"},
		{name: "backfill bad date", body: "/backfill orders 2026-13-01 2026-01-02", errLines: []int{1}, errMsg: "start:"},
		{name: "backfill reversed", body: "/backfill orders 2026-02-01 2026-01-01", errLines: []int{1}, errMsg: "before start"},
		{name: "backfill unknown option", body: "/backfill orders 2026-01-01 2026-01-02 --force", errLines: []int{1}, errMsg: "unknown option"},
		{name: "freeze without duration", body: "/freeze prod", errLines: []int{1}, errMsg: "needs an environment and a duration"},
		{name: "freeze bad duration", body: "/freeze prod soon", errLines: []int{1}, errMsg: "expected a duration"},
		{name: "freeze negative", body: "/freeze prod -2h", errLines: []int{1}, errMsg: "longer than zero"},
		{name: "status with args", body: "/status prod", errLines: []int{1}, errMsg: "takes no arguments"},
		{name: "good and bad together", body: "/status\n/promote\n/help",
			want: []Command{{Name: "status", Line: 1, Raw: "/status"}, {Name: "help", Line: 3, Raw: "/help"}}, errLines: []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := ParseCommands(tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands =\n%+v\nwant\n%+v", got, tt.want)
			}
			var lines []int
			for _, e := range errs {
				lines = append(lines, e.Line)
				if e.Usage == "" {
					t.Errorf("error without usage: %+v", e)
				}
				if tt.errMsg != "" && !strings.Contains(e.Error(), tt.errMsg) {
					t.Errorf("error %q lacks %q", e.Error(), tt.errMsg)
				}
			}
			if !reflect.DeepEqual(lines, tt.errLines) {
				t.Errorf("error lines = %v, want %v (%v)", lines, tt.errLines, errs)
			}
		})
	}
}

func TestParseCommandsLimit(t *testing.T) {
	body := strings.Repeat("/status\n", MaxCommandsPerComment+2)
	cmds, errs := ParseCommands(body)
	if len(cmds) != MaxCommandsPerComment || len(errs) != 2 {
		t.Errorf("got %d commands, %d errors", len(cmds), len(errs))
	}
}

func TestParseCommandsCapsErrors(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		errs      int
		lastMore  int
		firstLine int
	}{
		{"under the cap", strings.Repeat("/x\n", MaxErrorsPerComment), MaxErrorsPerComment, 0, 1},
		{"one past the cap", strings.Repeat("/x\n", MaxErrorsPerComment+1), MaxErrorsPerComment, 1, 1},
		{"a flood", strings.Repeat("/x\n", 5000), MaxErrorsPerComment, 5000 - MaxErrorsPerComment, 1},
		{"too many commands count too", "hi\n" + strings.Repeat("/status\n", MaxCommandsPerComment+MaxErrorsPerComment+3), MaxErrorsPerComment, 3, MaxCommandsPerComment + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseCommands(tt.body)
			if len(errs) != tt.errs {
				t.Fatalf("%d errors, want %d", len(errs), tt.errs)
			}
			if got := errs[len(errs)-1].More; got != tt.lastMore {
				t.Errorf("last error's More = %d, want %d", got, tt.lastMore)
			}
			for _, e := range errs[:len(errs)-1] {
				if e.More != 0 {
					t.Errorf("only the last error counts the rest: %+v", e)
				}
			}
			if errs[0].Line != tt.firstLine {
				t.Errorf("first error on line %d, want %d", errs[0].Line, tt.firstLine)
			}
			if tt.lastMore > 0 && !strings.Contains(errs[len(errs)-1].Error(), fmt.Sprintf("and %d more line(s)", tt.lastMore)) {
				t.Errorf("error does not say how many more: %s", errs[len(errs)-1].Error())
			}
		})
	}
}

func TestCommandArguments(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{"/status", ""},
		{"/promote prod", "env=prod"},
		{"/promote prod --break-glass dashboards down", `env=prod break_glass="dashboards down"`},
		{"/rollback prod to 3f9a0c1 orders doubled", `env=prod release=3f9a0c1 reason="orders doubled"`},
		{"/rollback prod to be safe", `env=prod reason="to be safe"`},
		{"/freeze prod 2h incident 42", `env=prod for=2h0m0s reason="incident 42"`},
		{"/freeze prod until 2026-12-27", "env=prod until=2026-12-27T00:00:00Z"},
		{"/backfill orders 2026-01-01 2026-01-31 --env staging", "env=staging dag=orders start=2026-01-01T00:00:00Z end=2026-01-31T00:00:00Z"},
		{`/lock prod say "hi"`, `env=prod reason="say \"hi\""`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			cmds, errs := ParseCommands(tt.body)
			if len(errs) > 0 || len(cmds) != 1 {
				t.Fatal(errs)
			}
			if got := cmds[0].Arguments(); got != tt.want {
				t.Errorf("Arguments() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFreezeEnd(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		body    string
		want    time.Time
		wantErr bool
	}{
		{"/freeze prod 2h", now.Add(2 * time.Hour), false},
		{"/freeze prod until 2026-03-05", time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), false},
		{"/freeze prod until 2026-03-01", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			cmds, errs := ParseCommands(tt.body)
			if len(errs) > 0 || len(cmds) != 1 {
				t.Fatal(errs)
			}
			got, err := cmds[0].FreezeEnd(now)
			if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
				t.Errorf("FreezeEnd = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestEveryCommandHasUsageAndHelp(t *testing.T) {
	for _, s := range CommandSpecs() {
		if !strings.HasPrefix(s.Usage, "/"+s.Name) || s.Help == "" || s.parse == nil {
			t.Errorf("incomplete spec %+v", s)
		}
	}
}

func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{
		"/promote prod", "```\n/promote prod\n```", "> /lock prod\n/unlock prod", "/backfill d 2026-01-01 2026-01-02 --env=dev",
		"/freeze prod until 2026-12-27 x", "/rollback prod to r1 why", "<!-- x\n/help\n-->", "~~~\n~~~\n/status", "/promote prod --break-glass a b",
		"/rollback prod to be safe", "/rollback prod to 3f9a0c1 bad", "/rollback prod to", "text <!-- open\n/promote prod\n-->\n/status",
		"/lock prod <!-- x --> y", "`<!--`\n/status", "a `` b <!-- c", strings.Repeat("/x\n", 50),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, errs := ParseCommands(body)
		lines := strings.Count(body, "\n") + 1
		if len(cmds) > MaxCommandsPerComment || len(errs) > MaxErrorsPerComment {
			t.Fatalf("%d commands, %d errors", len(cmds), len(errs))
		}
		prev := 0
		for _, c := range cmds {
			if c.Line <= prev || c.Line > lines {
				t.Fatalf("command line %d out of order or range (prev %d, lines %d)", c.Line, prev, lines)
			}
			prev = c.Line
			if _, ok := LookupCommand(c.Name); !ok {
				t.Fatalf("unknown command %q parsed", c.Name)
			}
			if c.Env != "" && checkEnv(c.Env) != nil {
				t.Fatalf("bad env %q accepted", c.Env)
			}
			if c.Name == "backfill" && c.End.Before(c.Start) {
				t.Fatalf("reversed backfill accepted")
			}
			if c.Release != "" && !releaseRef.MatchString(c.Release) {
				t.Fatalf("release %q accepted that is no release ID or SHA", c.Release)
			}
			if strings.Contains(c.Raw, "<!--") && !strings.Contains(c.Raw, "`") {
				t.Fatalf("a command kept the text of an HTML comment: %q", c.Raw)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines || e.Msg == "" || e.Usage == "" {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}
