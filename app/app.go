// Package app assembles Conveyor's rooms into one running GitHub App: the
// GitHub client creator, the store, the checks, the event handlers and the
// webhook intake with its durable inbox. `conveyor serve`, the demo and the
// end-to-end tests all build the server here, so they run the same code.
package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/builtin"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/handlers"
	"github.com/parcelflow/conveyor/handlers/webhook"
	"github.com/parcelflow/conveyor/observe"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

// Options are what the App needs from its caller.
type Options struct {
	// Config is the server config (already loaded and validated).
	Config *config.ServerConfig
	// PrivateKey is the GitHub App's PEM private key.
	PrivateKey []byte
	// Store is the opened state database.
	Store *store.DB
	// Logger is the base logger.
	Logger zerolog.Logger
	// Executor runs the repo's own commands; nil runs static checks only.
	Executor executor.Executor
	// UserAgent names this server to GitHub.
	UserAgent string
	// Operations carries out the environment commands (/promote, /rollback …);
	// nil answers them "deploys are not configured on this server".
	Operations handlers.Operations
	// Deploy, when set, builds a release of every merge, runs the merge flow
	// and carries out the environment commands (it takes the place of
	// Operations).
	Deploy *DeployOptions
	// Checks run after the built-in checks, each as its own check run: an
	// organisation's own validators, or a test's crashing one.
	Checks []checks.Check
}

// App is one running Conveyor.
type App struct {
	Webhook *webhook.Server
	Clients githubapp.ClientCreator
	Metrics *observe.Metrics
	Store   *store.DB
	// Audit is the hash-chained audit log the handlers append to.
	Audit *store.AuditLog
	// Deploys is the deploy side when Options.Deploy was set; nil otherwise.
	Deploys *Deploys
	// Redactor masks the webhook secrets and the App's private key in
	// everything written to GitHub; write through it (timeline.New) too.
	Redactor *timeline.Redactor

	stopResuming context.CancelFunc
	resuming     <-chan struct{}
}

// New wires the App. Nothing starts until Start.
func New(opts Options) (*App, error) {
	cfg := opts.Config
	if cfg == nil || opts.Store == nil {
		return nil, errors.New("app: config and store are required")
	}
	metrics := observe.NewMetrics()
	metrics.WatchDeployments(observe.StoreHistory(opts.Store), observe.HealthOptions{})
	ua := opts.UserAgent
	if ua == "" {
		ua = "conveyor"
	}
	clients, err := githubapp.NewDefaultCachingClientCreator(
		githubapp.Config{
			V3APIURL: cfg.GitHub.APIURL,
			V4APIURL: cfg.GitHubGraphQLURL(),
			App: struct {
				IntegrationID int64  `yaml:"integration_id" json:"integrationId"`
				WebhookSecret string `yaml:"webhook_secret" json:"webhookSecret"`
				PrivateKey    string `yaml:"private_key" json:"privateKey"`
			}{IntegrationID: cfg.GitHub.AppID, PrivateKey: string(opts.PrivateKey)},
		},
		githubapp.WithClientUserAgent(ua),
		githubapp.WithClientTimeout(30*time.Second),
		githubapp.WithClientMiddleware(metrics.GitHubClientMiddleware),
	)
	if err != nil {
		return nil, fmt.Errorf("app: github client creator: %w", err)
	}
	secrets := cfg.WebhookSecretValues()
	audit := store.NewAuditLog(opts.Store)
	redactor := timeline.NewRedactor(append(privateKeySecrets(opts.PrivateKey), secrets...)...)
	var deploys *Deploys
	var releases handlers.Releases
	ops := opts.Operations
	if opts.Deploy != nil {
		deploys = newDeploys(*opts.Deploy, opts.Store, clients, redactor, opts.Logger)
		ops, releases = deploys, deploys
	}
	hs := handlers.New(handlers.Deps{
		Clients:    clients,
		Registry:   checks.NewRegistry(append(builtin.Registry().All(), opts.Checks...)...),
		Logger:     opts.Logger,
		AppID:      cfg.GitHub.AppID,
		Executor:   opts.Executor,
		Redactor:   redactor,
		Policy:     store.NewPolicyStore(opts.Store),
		Audit:      audit,
		Operations: ops,
		Releases:   releases,
	})
	in := cfg.Inbox
	srv, err := webhook.NewServer(webhook.Options{
		Inbox:          store.NewInbox(opts.Store),
		Handlers:       hs,
		Secrets:        secrets,
		Metrics:        metrics,
		Logger:         opts.Logger,
		Workers:        in.Workers,
		MaxAttempts:    in.MaxAttempts,
		BackoffBase:    in.BackoffBase.D(),
		BackoffMax:     in.BackoffMax.D(),
		PollInterval:   in.PollInterval.D(),
		HandlerTimeout: in.HandlerTimeout.D(),
		EventTimeouts:  deployTimeouts(opts.Deploy != nil, cfg.Deploy.Timeout.D()),
		Lease:          in.Lease.D(),
		Retention:      in.Retention.D(),
	})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return &App{Webhook: srv, Clients: clients, Metrics: metrics, Store: opts.Store, Audit: audit, Deploys: deploys, Redactor: redactor}, nil
}

// deployTimeouts gives the events whose handlers can deploy — a merge's
// push, a command's comment, a button's press — the deploy timeout.
func deployTimeouts(deploys bool, d time.Duration) map[string]time.Duration {
	if !deploys || d <= 0 {
		return nil
	}
	return map[string]time.Duration{"push": d, "issue_comment": d, "check_run": d}
}

// minKeyLine is the shortest line of a private key masked on its own: a
// PEM body's last line can be a few characters, which would mask unrelated
// text and reveal nothing of the key anyway.
const minKeyLine = 16

// privateKeySecrets are the forms in which the App's private key could leak
// into a check run or comment: the whole PEM, its body as one string, and
// each of its lines (a pasted or reflowed key keeps its lines).
func privateKeySecrets(pemBytes []byte) []string {
	key := strings.TrimSpace(strings.ReplaceAll(string(pemBytes), "\r\n", "\n"))
	if key == "" {
		return nil
	}
	out := []string{key}
	var body strings.Builder
	for _, line := range strings.Split(key, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "-----") || strings.Contains(line, ":") {
			continue // armour and headers ("Proc-Type: …") are not secret
		}
		body.WriteString(line)
		if len(line) >= minKeyLine {
			out = append(out, line)
		}
	}
	if body.Len() >= minKeyLine {
		out = append(out, body.String())
	}
	return out
}

// Handler serves the webhook endpoint, health, readiness and metrics.
func (a *App) Handler() http.Handler { return a.Webhook.Handler() }

// Start starts the inbox workers (and resumes unfinished deliveries) and
// the loop that resumes deployments a crash left in flight.
func (a *App) Start(ctx context.Context) error {
	if err := a.Webhook.Start(ctx); err != nil {
		return err
	}
	rctx, stop := context.WithCancel(ctx)
	a.stopResuming, a.resuming = stop, a.Deploys.StartResuming(rctx)
	return nil
}

// Shutdown stops accepting work and resuming deployments, and waits for
// in-flight work and the resume loop, within ctx.
func (a *App) Shutdown(ctx context.Context) error {
	if a.stopResuming != nil {
		a.stopResuming()
	}
	err := a.Webhook.Shutdown(ctx)
	if a.resuming != nil {
		select {
		case <-a.resuming:
		case <-ctx.Done():
		}
	}
	return err
}
