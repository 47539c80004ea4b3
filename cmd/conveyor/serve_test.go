package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
)

// lockedBuffer is a bytes.Buffer safe for a server goroutine to write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveTestConfig writes a server config for a loopback port, an App key
// from the emulator and a SQLite store in dir; it returns the config path
// and the base URL the server will listen on.
func serveTestConfig(t *testing.T, dir, apiURL string, emu *githubemu.Emulator) (string, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	key := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(key, emu.AppPrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`listen: %q
shutdown_timeout: 3s
log: {level: debug}
github:
  app_id: %d
  private_key_file: %s
  api_url: %s
store:
  dsn: sqlite://%s
inbox:
  workers: 2
  poll_interval: 100ms
`, addr, emu.AppID(), key, apiURL, filepath.Join(dir, "conveyor.db"))
	path := filepath.Join(dir, "conveyor.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, "http://" + addr
}

func TestServeEndToEnd(t *testing.T) {
	emu := githubemu.New(githubemu.Options{})
	apiURL, closeEmu := emu.Start()
	defer closeEmu()
	dir := t.TempDir()
	cfgPath, base := serveTestConfig(t, dir, apiURL, emu)
	t.Setenv(config.EnvWebhookSecrets, "new-secret,old-secret")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	exited := make(chan int, 1)
	go func() { exited <- runServe(ctx, []string{"--config", cfgPath}, io.Discard, &stderr) }()
	waitServeReady(t, base, exited, &stderr)

	repo := emu.CreateRepo("parcelflow", "data", "main")
	repo.Commit("main", map[string]string{"README.md": "data\n"}, "init", "octocat")
	repo.CreateBranch("feature", "main")
	repo.Commit("feature", map[string]string{"README.md": "data platform\n"}, "edit", "octocat")
	pr := repo.OpenPullRequest(githubemu.PROptions{Head: "feature"})
	payload := emu.PullRequestPayload(pr, "opened", "octocat")

	tests := []struct {
		name, secret, id string
		want             int
	}{
		{"unsigned", "", "e2e-unsigned", http.StatusUnauthorized},
		{"wrong secret", "guess", "e2e-wrong", http.StatusUnauthorized},
		{"old secret still accepted", "old-secret", "e2e-old", http.StatusAccepted},
		{"new secret", "new-secret", "e2e-new", http.StatusAccepted},
		{"redelivery", "new-secret", "e2e-new", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := emu.Deliver(context.Background(), base+"/api/github/hook", tt.secret, "pull_request", tt.id, payload)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
	// The real handlers process both stored deliveries against the emulator.
	var metrics []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(metrics), `conveyor_inbox_deliveries_processed_total{event="pull_request"} 2`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not processed; metrics:\n%s\nlogs:\n%s", grepMetric(string(metrics), "conveyor_inbox"), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(emu.CallsTo("POST", "/repos/parcelflow/data/check-runs")) == 0 {
		t.Errorf("the handlers created no check runs; logs:\n%s", stderr.String())
	}
	if !strings.Contains(string(metrics), `conveyor_github_api_requests_total{method="POST",status="2xx"}`) {
		t.Errorf("GitHub API calls are not counted")
	}
	if !strings.Contains(string(metrics), `conveyor_webhook_deliveries_rejected_total{reason="signature"} 2`) {
		t.Errorf("metrics do not count the refused deliveries")
	}

	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop within its shutdown timeout")
	}
	logs := stderr.String()
	for _, secret := range []string{"new-secret", "old-secret"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log contains a webhook secret")
		}
	}

	db, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "conveyor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored, err := store.NewInbox(db).List(context.Background(), store.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range stored {
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	if got := strings.Join(ids, ","); got != "e2e-new,e2e-old" {
		t.Fatalf("stored deliveries = %s, want e2e-new,e2e-old", got)
	}
}

func TestServeRefusesWithoutSecret(t *testing.T) {
	emu := githubemu.New(githubemu.Options{})
	cfgPath, _ := serveTestConfig(t, t.TempDir(), "https://api.github.com/", emu)
	t.Setenv(config.EnvWebhookSecrets, "")
	os.Unsetenv(config.EnvWebhookSecrets)
	var stderr bytes.Buffer
	code := runServe(context.Background(), []string{"--config", cfgPath}, io.Discard, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "github.webhook_secrets: required") {
		t.Fatalf("stderr = %s", stderr.String())
	}
}

func TestServeReportsConfigErrorsWithLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conveyor.yml")
	os.WriteFile(path, []byte("listen: :8080\ninbox:\n  wokers: 3\n"), 0o600)
	var stderr bytes.Buffer
	if code := runServe(context.Background(), []string{"--config", path}, io.Discard, &stderr); code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "conveyor.yml:3:3: inbox.wokers: unknown key") {
		t.Fatalf("stderr = %s", stderr.String())
	}
}

// decodeJSON is a test helper for command output.
func decodeJSON(t *testing.T, data string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(data), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
}

func grepMetric(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeDeploysMerges runs `conveyor serve` on the embedded deploy mode
// with nothing but a deploy section in its config, and merges a DAG change
// of the sample repo: the release must reach prod through signed webhooks.
func TestServeDeploysMerges(t *testing.T) {
	emu := githubemu.New(githubemu.Options{Account: "parcelflow"})
	apiURL, closeEmu := emu.Start()
	defer closeEmu()
	dir := t.TempDir()
	cfgPath, base := serveTestConfig(t, dir, apiURL, emu)
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "deploy:\n  mode: embedded\n  work_dir: %s\n  lease: 5s\n", filepath.Join(dir, "deploy"))
	f.Close()
	t.Setenv(config.EnvWebhookSecrets, "merge-secret")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	exited := make(chan int, 1)
	go func() { exited <- runServe(ctx, []string{"--config", cfgPath}, io.Discard, &stderr) }()
	waitServeReady(t, base, exited, &stderr)
	emu.SetWebhookTarget(base+"/api/github/hook", "merge-secret")

	sample := filepath.Join("..", "..", "testdata", "sample-repo")
	files := map[string]string{}
	if err := filepath.WalkDir(sample, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(sample, p)
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	repo := emu.CreateRepo("parcelflow", "data-platform", "main")
	repo.Commit("main", files, "Import the data platform", "devops-bot")
	emu.AddTeam("parcelflow", "data-eng", "alice", "bob")
	repo.SetPermission("bob", "write")
	const dag = "dags/customer_metrics_taskflow.py"
	repo.Commit("tune", map[string]string{dag: files[dag] + "\n# tuned\n"}, "Tune customer metrics", "alice")
	pr := repo.OpenPullRequest(githubemu.PROptions{Head: "tune", Base: "main", Title: "Tune", Author: "alice"})
	for deadline := time.Now().Add(60 * time.Second); ; {
		runs, done := repo.CheckRuns(pr.HeadSHA()), true
		for _, r := range runs {
			done = done && r.Status == "completed"
		}
		if done && len(runs) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checks did not complete; logs:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Branch protection merges once the owners approved: bob is data-eng.
	pr.Review("bob", "APPROVED", "")
	for deadline := time.Now().Add(30 * time.Second); ; {
		var policy string
		for _, r := range repo.CheckRuns(pr.HeadSHA()) {
			if r.Name == "conveyor/policy" && r.Status == "completed" {
				policy = r.Conclusion
			}
		}
		if policy == "success" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the policy check never passed (%q); logs:\n%s", policy, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	pr.Merge("bob")
	for deadline := time.Now().Add(60 * time.Second); ; {
		got := map[string]string{}
		for _, d := range repo.Deployments() {
			if n := len(d.Statuses); n > 0 {
				got[d.Environment] = d.Statuses[n-1].State
			}
		}
		if got["dev"] == "success" && got["staging"] == "success" && got["prod"] == "success" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployments = %v; logs:\n%s", got, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-exited; code != exitOK {
		t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "deploy", "prod.duckdb")); err != nil {
		t.Errorf("the embedded warehouse of prod is not under deploy.work_dir: %v", err)
	}
}

func waitServeReady(t *testing.T, base string, exited <-chan int, stderr *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became ready:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
