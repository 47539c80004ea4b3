package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/app"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/store"
)

// runServe runs the webhook server until ctx is cancelled (SIGINT/SIGTERM),
// then shuts down within the configured shutdown_timeout.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conveyor serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "conveyor.yml", "server config `FILE` (see conveyor.example.yml)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "conveyor serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	cfg, err := config.LoadServer(*configPath, os.LookupEnv)
	if err == nil {
		err = cfg.CheckServe()
	}
	if err != nil {
		fmt.Fprintf(stderr, "conveyor serve: invalid server config:\n%v\n", err)
		return exitUsage
	}
	logger := newLogger(cfg.Log, stderr)
	ctx = logger.WithContext(ctx)
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error().Err(err).Msg("conveyor serve stopped")
		return exitFailed
	}
	return exitOK
}

func newLogger(c config.LogConfig, w io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	if c.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// serve wires the store, the GitHub client, the handlers and the webhook
// server, and runs them until ctx ends.
func serve(ctx context.Context, cfg *config.ServerConfig, logger zerolog.Logger) error {
	key, err := os.ReadFile(cfg.GitHub.PrivateKeyFile)
	if err != nil {
		return fmt.Errorf("reading github.private_key_file: %w", err)
	}
	db, err := store.Open(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer db.Close()

	dep, closeDeploys, err := app.ServerDeploys(ctx, cfg.Deploy, os.LookupEnv)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	defer closeDeploys()
	a, err := app.New(app.Options{Config: cfg, PrivateKey: key, Store: db, Logger: logger, Deploy: dep})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	httpSrv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second, // a 25 MB body over a slow link
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Workers outlive ctx: the signal starts the shutdown below, which
	// decides how long they may finish.
	if err := a.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	logger.Info().Str("listen", ln.Addr().String()).Int64("app_id", cfg.GitHub.AppID).
		Str("github_api", cfg.GitHub.APIURL).Int("webhook_secrets", len(cfg.GitHub.WebhookSecrets)).
		Int("workers", cfg.Inbox.Workers).Str("deploy_mode", cfg.Deploy.Mode).Msg("conveyor serving")

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info().Dur("timeout", cfg.ShutdownTimeout.D()).Msg("shutting down")
	case serveErr = <-served:
		logger.Error().Err(serveErr).Msg("HTTP server failed; shutting down")
	}
	return errors.Join(serveErr, shutdown(httpSrv, a, cfg.ShutdownTimeout.D(), logger))
}

// shutdown stops accepting requests, lets in-flight ones answer, then drains
// the workers, all within timeout. The workers get the time left minus the
// second they need to hand interrupted deliveries back to the inbox.
func shutdown(httpSrv *http.Server, srv interface{ Shutdown(context.Context) error }, timeout time.Duration, logger zerolog.Logger) error {
	deadline := time.Now().Add(timeout)
	hctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := httpSrv.Shutdown(hctx); err != nil {
		logger.Warn().Err(err).Msg("HTTP requests still open at the shutdown deadline")
		httpSrv.Close()
	}
	wctx, cancelWork := context.WithDeadline(context.Background(), deadline.Add(-time.Second))
	defer cancelWork()
	if err := srv.Shutdown(wctx); err != nil {
		logger.Warn().Err(err).Msg("in-flight deliveries interrupted; they resume on the next start")
		return nil
	}
	logger.Info().Msg("shut down cleanly")
	return nil
}
