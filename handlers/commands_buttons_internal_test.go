package handlers

import (
	"strings"
	"testing"
)

func TestButtonCommand(t *testing.T) {
	tests := []struct{ id, want string }{
		{"c:p:staging", "promote staging"},
		{"c:r:production", "rollback production"},
		{"c:s", "status"},
		{"cmd:promote dev", "promote dev"}, // a button offered before identifiers were shortened
		{"c:x:prod", ""},
		{"waive:test/panics", ""},
		{"c:", ""},
	}
	for _, tc := range tests {
		if got := buttonCommand(tc.id); got != tc.want {
			t.Errorf("buttonCommand(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// A chain with long environment names still gets its buttons: GitHub
// refuses an identifier over 20 characters.
func TestCommandButtonsFitLongEnvironmentNames(t *testing.T) {
	b := &Base{deps: Deps{Operations: noOps{}}}
	envs := []string{"development", "preproduction", "production"}
	for _, deployed := range []string{"", "development", "preproduction"} {
		got := b.commandButtons(envs, deployed)
		var ids []string
		for _, a := range got {
			if err := a.Validate(); err != nil {
				t.Fatalf("deployed %q: button %+v: %v", deployed, a, err)
			}
			ids = append(ids, buttonCommand(a.Identifier))
		}
		want := map[string]string{
			"":              "promote development,promote preproduction,status",
			"development":   "rollback development,promote preproduction,status",
			"preproduction": "rollback preproduction,status",
		}[deployed]
		if joined := join(ids); joined != want {
			t.Errorf("deployed %q: buttons run %s, want %s", deployed, joined, want)
		}
	}
}

// noOps stands for a configured deploy side; buttons never call it.
type noOps struct{ Operations }

func join(ss []string) string { return strings.Join(ss, ",") }
