package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
)

func TestAuditCommand(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "conveyor.db")
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := store.NewAuditLog(db)
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i, ev := range []policy.Event{
		{Repo: "parcelflow/data-platform", PR: 7, Actor: "erin", Action: "promote", Env: "prod", Decision: "refused", Reasons: []string{"only @parcelflow/devops may run /promote in prod"}},
		{Repo: "parcelflow/data-platform", PR: 7, Actor: "dana", Action: "lock", Env: "prod", Decision: "done"},
		{Repo: "parcelflow/other", PR: 1, Actor: "dana", Action: "promote", Env: "prod", Decision: "done", BreakGlass: true, Reasons: []string{"incident 42"}},
	} {
		ev.Time = at.Add(time.Duration(i) * time.Minute)
		if _, err := log.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runAudit(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	tests := []struct {
		name    string
		args    []string
		code    int
		outHas  []string
		outLack []string
	}{
		{"verify an intact chain", []string{"verify", "--db", dsn}, exitOK, []string{"OK: 3 event(s) verified"}, nil},
		{"list one PR", []string{"list", "--db", dsn, "--repo", "parcelflow/data-platform", "--pr", "7"}, exitOK,
			[]string{"erin", "only @parcelflow/devops may run /promote in prod", "lock"}, []string{"incident 42"}},
		{"break-glass is marked", []string{"list", "--db", dsn, "--after", "2"}, exitOK, []string{"promote (BREAK-GLASS)"}, []string{"erin"}},
		{"unknown subcommand", []string{"rewrite", "--db", dsn}, exitUsage, nil, nil},
		{"bad format", []string{"list", "--db", dsn, "--format", "xml"}, exitUsage, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, want := range tt.outHas {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, lack := range tt.outLack {
				if strings.Contains(out, lack) {
					t.Errorf("output has %q:\n%s", lack, out)
				}
			}
		})
	}

	t.Run("json lists the events as stored", func(t *testing.T) {
		code, out, _ := run("list", "--db", dsn, "--format", "json")
		var evs []policy.Event
		if code != exitOK || json.Unmarshal([]byte(out), &evs) != nil || len(evs) != 3 || evs[2].Hash == "" {
			t.Fatalf("exit %d, %d events:\n%s", code, len(evs), out)
		}
	})

	t.Run("a changed event breaks the chain", func(t *testing.T) {
		if _, err := db.Exec(ctx, `UPDATE audit_events SET decision = 'done' WHERE seq = 1`); err != nil {
			t.Fatal(err)
		}
		code, out, _ := run("verify", "--db", dsn)
		if code != exitFailed || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "event 1") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}
