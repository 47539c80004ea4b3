// Package demo runs Conveyor end to end on embedded defaults: the GitHub API
// emulator stands in for GitHub, SQLite for the state database, and the real
// server (the same app.New that `conveyor serve` uses) receives signed
// webhooks over HTTP. The demo scenario and the end-to-end tests share Stack.
package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parcelflow/conveyor/app"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
)

// Org and Repo name the sample platform on the emulator.
const (
	Org      = "parcelflow"
	RepoName = "data-platform"
	secret   = "demo-webhook-secret"
	// ArtifactBucket holds releases, as deploy.artifact_bucket of the sample repo names it.
	ArtifactBucket = "parcelflow-conveyor-releases"
)

// EnvBuckets are the MWAA buckets of the sample repo's environments; the
// stack creates each, versioned, on its local S3 server.
var EnvBuckets = map[string]string{"dev": "parcelflow-mwaa-dev", "staging": "parcelflow-mwaa-staging", "prod": "parcelflow-mwaa-prod"}

// Stack is a running Conveyor wired to a GitHub emulator.
type Stack struct {
	Emu   *githubemu.Emulator
	App   *app.App
	Store *store.DB
	Repo  *githubemu.Repo
	URL   string
	// S3 is the local S3-compatible server holding the releases and the
	// environments' buckets.
	S3 *artifacts.LocalS3
	// Deploy is the deploy side the server runs (artifact store, targets).
	Deploy  *app.DeployOptions
	dir     string
	closers []func()
}

// StackOptions tune a Stack.
type StackOptions struct {
	// Dir holds the state database; a temp dir when empty.
	Dir string
	// Logger receives the server's logs; silent when zero.
	Logger *zerolog.Logger
	// WrapS3 wraps the local S3 server's handler (fault injection).
	WrapS3 func(http.Handler) http.Handler
	// Lease is the environment locks' lease (default 30 s).
	Lease time.Duration
}

// Start brings up the emulator and a Conveyor server listening on loopback.
func Start(ctx context.Context, opts StackOptions) (*Stack, error) {
	s := &Stack{dir: opts.Dir}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "conveyor-demo-")
		if err != nil {
			return nil, err
		}
		s.dir = d
		s.closers = append(s.closers, func() { os.RemoveAll(d) })
	}
	s.Emu = githubemu.New(githubemu.Options{Account: Org})
	apiURL, closeEmu := s.Emu.Start()
	s.closers = append(s.closers, closeEmu)

	db, err := store.Open(ctx, "sqlite://"+filepath.Join(s.dir, "conveyor.db"))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Store = db
	s.closers = append(s.closers, func() { db.Close() })

	cfg, err := config.ParseServer("demo", []byte(fmt.Sprintf(`
github:
  app_id: %d
  api_url: %s/
  webhook_secrets: [%s]
inbox:
  workers: 4
  poll_interval: 100ms
  backoff_base: 200ms
`, s.Emu.AppID(), apiURL, secret)), nil)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("demo server config: %w", err)
	}
	logger := zerolog.Nop()
	if opts.Logger != nil {
		logger = *opts.Logger
	}
	dep, err := s.startDeploys(ctx, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	a, err := app.New(app.Options{Config: cfg, PrivateKey: s.Emu.AppPrivateKeyPEM(), Store: db, Logger: logger, Executor: &executor.Local{}, Deploy: dep})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.App = a
	if err := a.Start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	s.URL = "http://" + ln.Addr().String()
	s.closers = append(s.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		a.Shutdown(sctx)
	})
	s.Emu.SetWebhookTarget(s.URL+"/api/github/hook", secret)
	return s, nil
}

// Close stops everything, newest first.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// SeedRepo creates the data repo on the emulator with the files under dir
// committed to main, and returns the commit SHA.
func (s *Stack) SeedRepo(dir string) (string, error) {
	files, err := ReadFiles(dir)
	if err != nil {
		return "", err
	}
	s.Repo = s.Emu.CreateRepo(Org, RepoName, "main")
	return s.Repo.Commit("main", files, "Import the data platform repo", "devops-bot"), nil
}

// ReadFiles reads every file under dir as path → content.
func ReadFiles(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	return files, err
}

// WaitChecks waits until every check run at sha is completed and at least
// min exist, and returns them sorted by name.
func (s *Stack) WaitChecks(ctx context.Context, sha string, min int, timeout time.Duration) ([]githubemu.CheckRun, error) {
	deadline := time.Now().Add(timeout)
	for {
		runs := s.Repo.CheckRuns(sha)
		done := len(runs) >= min
		for _, r := range runs {
			if r.Status != "completed" {
				done = false
			}
		}
		if done {
			sort.Slice(runs, func(i, j int) bool { return runs[i].Name < runs[j].Name })
			return runs, nil
		}
		if time.Now().After(deadline) {
			var states []string
			for _, r := range runs {
				states = append(states, r.Name+"="+r.Status)
			}
			return nil, fmt.Errorf("check runs at %.7s not completed after %s: [%s]", sha, timeout, strings.Join(states, ", "))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitCheck waits until the check run name at sha satisfies done.
func (s *Stack) WaitCheck(ctx context.Context, sha, name string, timeout time.Duration, done func(githubemu.CheckRun) bool) (githubemu.CheckRun, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range s.Repo.CheckRuns(sha) {
			if r.Name == name && done(r) {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			return githubemu.CheckRun{}, fmt.Errorf("check run %s at %.7s did not reach the expected state in %s", name, sha, timeout)
		}
		select {
		case <-ctx.Done():
			return githubemu.CheckRun{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Command posts body as user on pr and waits until Conveyor has finished
// answering it (a 🚀 or 😕 on the comment). It returns the comment as it
// ended and Conveyor's replies posted after it.
func (s *Stack) Command(ctx context.Context, pr *githubemu.PullRequest, user, body string, timeout time.Duration) (githubemu.Comment, []githubemu.Comment, error) {
	posted := pr.Comment(user, body)
	deadline := time.Now().Add(timeout)
	for {
		c, _ := s.Emu.Comment(posted.ID)
		if hasReaction(c, "rocket", "confused") {
			var replies []githubemu.Comment
			for _, r := range pr.Comments() {
				if r.ID > posted.ID && strings.HasSuffix(r.User, "[bot]") {
					replies = append(replies, r)
				}
			}
			return c, replies, nil
		}
		if time.Now().After(deadline) {
			return c, nil, fmt.Errorf("no answer to %q from %s within %s", body, user, timeout)
		}
		select {
		case <-ctx.Done():
			return c, nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func hasReaction(c githubemu.Comment, contents ...string) bool {
	for _, r := range c.Reactions {
		for _, want := range contents {
			if r.Content == want {
				return true
			}
		}
	}
	return false
}

// startDeploys brings up the embedded deploy targets (app.EmbeddedDeploys,
// the same ones `conveyor serve` runs on embedded defaults) with the
// releases in ArtifactBucket on the local S3 server.
func (s *Stack) startDeploys(ctx context.Context, opts StackOptions) (*app.DeployOptions, error) {
	lease := opts.Lease
	if lease <= 0 {
		lease = 30 * time.Second
	}
	emb, err := app.EmbeddedDeploys(ctx, app.EmbeddedOptions{
		Dir: s.dir, ArtifactBucket: ArtifactBucket, ArtifactPrefix: "releases", Lease: lease, WrapS3: opts.WrapS3,
	})
	if err != nil {
		return nil, err
	}
	s.S3, s.Deploy = emb.S3, emb.Deploy
	s.closers = append(s.closers, emb.Close)
	c := s.S3.Client(nil)
	for _, b := range EnvBuckets {
		if err := artifacts.EnsureBucket(ctx, c, b, true); err != nil {
			return nil, err
		}
	}
	return emb.Deploy, nil
}

// Bucket returns env's DAG bucket as key → sha256 of the object's bytes.
func (s *Stack) Bucket(ctx context.Context, env string) (map[string]string, error) {
	b, ok := EnvBuckets[env]
	if !ok {
		return nil, fmt.Errorf("no bucket for environment %q", env)
	}
	c := s.S3.Client(nil)
	objs, err := (&airflow.Deployer{S3: c}).List(ctx, airflow.Target{Bucket: b})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k := range objs {
		o, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(o.Body)
		o.Body.Close()
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		out[k] = hex.EncodeToString(sum[:])
	}
	return out, nil
}

// PolicyDecisions counts the conveyor/policy decisions recorded for PR
// number in the audit log.
func (s *Stack) PolicyDecisions(ctx context.Context, number int) (int, error) {
	events, err := store.NewAuditLog(s.Store).List(ctx, store.AuditFilter{Repo: Org + "/" + RepoName, PR: number, Limit: 10000})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range events {
		if ev.Action == "policy" {
			n++
		}
	}
	return n, nil
}

// WaitPolicyDecision waits until PR number has more than after policy
// decisions: the one an event just asked for.
func (s *Stack) WaitPolicyDecision(ctx context.Context, number, after int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n, err := s.PolicyDecisions(ctx, number)
		if err != nil {
			return err
		}
		if n > after {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no new policy decision on PR #%d within %s", number, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
