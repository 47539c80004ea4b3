package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/store"
)

func TestInboxCommand(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "conveyor.db")
	cfgPath := filepath.Join(dir, "conveyor.yml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("store:\n  dsn: %s\n", dsn)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	inbox := store.NewInbox(db)
	for _, id := range []string{"ok-1", "broken-1"} {
		d := store.Delivery{ID: id, EventType: "pull_request", Action: "opened", Repository: "parcelflow/data", Payload: []byte(`{}`)}
		if _, err := inbox.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct receipt times order the list
	}
	if d, err := inbox.Claim(ctx, "w", time.Minute); err != nil || d.ID != "ok-1" {
		t.Fatalf("claim = %v, %v", d, err)
	}
	inbox.Complete(ctx, "ok-1", "w")
	inbox.Claim(ctx, "w", time.Minute)
	if err := inbox.Park(ctx, "broken-1", "w", "creating check run: 502 Bad Gateway\nstack…"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := runInbox(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	t.Run("list failed as json", func(t *testing.T) {
		code, out, errOut := run("list", "--status", "failed", "--format", "json", "--config", cfgPath)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got []store.Delivery
		decodeJSON(t, out, &got)
		if len(got) != 1 || got[0].ID != "broken-1" || got[0].Status != store.StatusFailed || got[0].Attempts != 1 ||
			!strings.Contains(got[0].LastError, "502") {
			t.Fatalf("list = %+v", got)
		}
	})
	t.Run("list all as text", func(t *testing.T) {
		code, out, _ := run("list", "--config", cfgPath)
		if code != exitOK {
			t.Fatalf("exit %d", code)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "DELIVERY") ||
			!strings.Contains(lines[1], "broken-1") || !strings.Contains(lines[1], "pull_request.opened") ||
			!strings.Contains(lines[1], "creating check run: 502 Bad Gateway") || strings.Contains(out, "stack…") ||
			!strings.Contains(lines[2], "done") {
			t.Fatalf("list =\n%s", out)
		}
	})
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		stderr  string
		status  store.DeliveryStatus
		checkID string
	}{
		{"retry a parked delivery", []string{"retry", "broken-1", "--config", cfgPath}, exitOK, "broken-1 queued", "", store.StatusPending, "broken-1"},
		{"retry it again", []string{"retry", "--config", cfgPath, "broken-1"}, exitFailed, "", "only failed deliveries are replayed", store.StatusPending, "broken-1"},
		{"retry a finished delivery", []string{"retry", "ok-1", "--config", cfgPath}, exitFailed, "", "status done", store.StatusDone, "ok-1"},
		{"retry an unknown delivery", []string{"retry", "nope", "--config", cfgPath}, exitFailed, "", "no delivery nope", "", ""},
		{"retry without an id", []string{"retry", "--config", cfgPath}, exitUsage, "", "which delivery?", "", ""},
		{"bad status", []string{"list", "--status", "lost", "--config", cfgPath}, exitUsage, "", "unknown delivery status", "", ""},
		{"bad format", []string{"list", "--format", "xml", "--config", cfgPath}, exitUsage, "", "text or json", "", ""},
		{"unknown subcommand", []string{"purge", "--config", cfgPath}, exitUsage, "", "unknown subcommand", "", ""},
		{"missing config", []string{"list", "--config", filepath.Join(dir, "nope.yml")}, exitFailed, "", "nope.yml", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if tt.checkID == "" {
				return
			}
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			d, err := store.NewInbox(db).Get(ctx, tt.checkID)
			if err != nil || d.Status != tt.status {
				t.Fatalf("%s = %+v, %v; want status %s", tt.checkID, d, err, tt.status)
			}
		})
	}
}
