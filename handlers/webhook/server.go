// Package webhook is Conveyor's front door: it verifies GitHub webhook
// deliveries, writes them to the durable inbox before acknowledging them,
// and runs the worker pool that hands stored deliveries to the event
// handlers, retrying with backoff and parking what keeps failing.
//
// go-githubapp's own dispatcher runs handlers before the store could
// record the delivery, so the intake is written here and only go-githubapp's
// EventHandler interface is reused for dispatch.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/parcelflow/conveyor/observe"
	"github.com/parcelflow/conveyor/store"
	"github.com/rs/zerolog"
)

// Paths the server answers on.
const (
	HookPath    = "/api/github/hook"
	HealthPath  = "/healthz"
	ReadyPath   = "/readyz"
	MetricsPath = "/metrics"
)

// MaxBodyBytes is the largest delivery accepted; GitHub caps payloads at 25 MB.
const MaxBodyBytes = 25 << 20

// Inbox is the durable store the server needs: the intake puts deliveries,
// the workers claim, renew, finish and release them. *store.Inbox implements it.
type Inbox interface {
	Put(ctx context.Context, d store.Delivery) (inserted bool, err error)
	Claim(ctx context.Context, workerID string, lease time.Duration) (*store.Delivery, error)
	Extend(ctx context.Context, id, workerID string, lease time.Duration) error
	Complete(ctx context.Context, id, workerID string) error
	Fail(ctx context.Context, id, workerID, errMsg string, next time.Time) error
	Park(ctx context.Context, id, workerID, errMsg string) error
	Release(ctx context.Context, id, workerID string) error
	Stats(ctx context.Context) (store.InboxStats, error)
	Prune(ctx context.Context, before time.Time) (int64, error)
	Ping(ctx context.Context) error
}

var _ Inbox = (*store.Inbox)(nil)

// Options configure a Server. Inbox and at least one secret are required;
// zero durations and counts take the defaults documented on each field.
type Options struct {
	Inbox    Inbox
	Handlers []githubapp.EventHandler
	// Secrets are the webhook secrets; a delivery signed with any one is accepted.
	Secrets []string
	Metrics *observe.Metrics // nil: a fresh registry
	Logger  zerolog.Logger   // attached to every request and handler context

	Workers        int           // concurrent deliveries; default 4
	MaxAttempts    int           // attempts before parking; default 8
	BackoffBase    time.Duration // wait before the second attempt; default 5s
	BackoffMax     time.Duration // longest wait between attempts; default 10m
	PollInterval   time.Duration // idle workers look for due work this often; default 2s
	HandlerTimeout time.Duration // longest single attempt; default 5m
	// EventTimeouts overrides HandlerTimeout per event type, for the events
	// whose handlers deploy and may run for as long as an environment update.
	EventTimeouts map[string]time.Duration
	Lease         time.Duration // claim length, renewed at a third of it; default 30s
	Retention     time.Duration // finished deliveries are pruned after this; default 14 days
	WorkerID      string        // names this process's claims; default host-pid-random
}

// Server is the webhook intake plus the inbox worker pool.
type Server struct {
	opts     Options
	secrets  [][]byte
	handlers map[string]githubapp.EventHandler
	metrics  *observe.Metrics
	log      zerolog.Logger

	// reading bounds the bodies read at once: each may be 25 MB, and none
	// is known to be GitHub's until it has been read and verified.
	reading  chan struct{}
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	started  atomic.Bool
	draining atomic.Bool
	wg       sync.WaitGroup
	workCtx  context.Context
	cancel   context.CancelFunc
}

// NewServer checks opts and builds a server; call Start to run its workers
// and serve Handler over HTTP.
func NewServer(opts Options) (*Server, error) {
	if opts.Inbox == nil {
		return nil, errors.New("webhook: no inbox")
	}
	s := &Server{opts: opts, handlers: map[string]githubapp.EventHandler{}, metrics: opts.Metrics, log: opts.Logger, reading: make(chan struct{}, maxConcurrentReads)}
	for _, secret := range opts.Secrets {
		if secret != "" {
			s.secrets = append(s.secrets, []byte(secret))
		}
	}
	if len(s.secrets) == 0 {
		return nil, errors.New("webhook: no webhook secret; deliveries are never accepted unsigned")
	}
	for _, h := range opts.Handlers {
		for _, ev := range h.Handles() {
			if _, dup := s.handlers[ev]; dup {
				return nil, fmt.Errorf("webhook: two handlers for event %q", ev)
			}
			s.handlers[ev] = h
		}
	}
	if s.metrics == nil {
		s.metrics = observe.NewMetrics()
	}
	o := &s.opts
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&o.Workers, 4)
	defInt(&o.MaxAttempts, 8)
	defDur(&o.BackoffBase, 5*time.Second)
	defDur(&o.BackoffMax, 10*time.Minute)
	defDur(&o.PollInterval, 2*time.Second)
	defDur(&o.HandlerTimeout, 5*time.Minute)
	defDur(&o.Lease, 30*time.Second)
	defDur(&o.Retention, 14*24*time.Hour)
	if o.WorkerID == "" {
		o.WorkerID = defaultWorkerID()
	}
	s.wake = make(chan struct{}, o.Workers)
	s.stop = make(chan struct{})
	return s, nil
}

// Metrics returns the collectors the server records into.
func (s *Server) Metrics() *observe.Metrics { return s.metrics }

// Handler serves the webhook endpoint, /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(HookPath, s.serveHook)
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc(ReadyPath, s.serveReady)
	mux.Handle(MetricsPath, s.metrics.Handler())
	return mux
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Inbox.Ping(ctx); err != nil {
		s.log.Warn().Err(err).Msg("readiness: store unreachable")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// hookResponse is the body of every answer on the webhook endpoint.
type hookResponse struct {
	Delivery string `json:"delivery,omitempty"`
	Status   string `json:"status"` // stored, duplicate, ignored, or an error
	Error    string `json:"error,omitempty"`
}

func (s *Server) reject(w http.ResponseWriter, code int, reason, msg string) {
	s.metrics.DeliveriesRejected.WithLabelValues(reason).Inc()
	writeJSON(w, code, hookResponse{Status: "rejected", Error: msg})
}

// serveHook verifies, stores, then acknowledges. Nothing about an unsigned
// request is parsed, logged in detail or stored.
func (s *Server) serveHook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, http.StatusMethodNotAllowed, "bad_request", "webhook deliveries are POSTed")
		return
	}
	if !wellFormedSignature(r.Header.Get(SignatureHeader)) {
		// Refused before the body is read: a request that cannot be signed
		// costs no memory.
		s.log.Warn().Str("remote_addr", r.RemoteAddr).Bool("signature_present", r.Header.Get(SignatureHeader) != "").
			Msg("webhook delivery with a missing or wrong signature refused")
		s.reject(w, http.StatusUnauthorized, "signature", "missing or invalid "+SignatureHeader)
		return
	}
	select {
	case s.reading <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	<-s.reading
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", MaxBodyBytes))
			return
		}
		s.reject(w, http.StatusBadRequest, "bad_request", "reading body failed")
		return
	}
	if !validSignature(s.secrets, r.Header.Get(SignatureHeader), body) {
		s.log.Warn().Str("remote_addr", r.RemoteAddr).Bool("signature_present", r.Header.Get(SignatureHeader) != "").
			Msg("webhook delivery with a missing or wrong signature refused")
		s.reject(w, http.StatusUnauthorized, "signature", "missing or invalid "+SignatureHeader)
		return
	}
	d, err := decodeDelivery(r.Header, body)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errUnsupportedMedia) {
			code = http.StatusUnsupportedMediaType
		}
		s.reject(w, code, "bad_request", err.Error())
		return
	}
	log := deliveryLogger(s.log, &d)
	if _, ok := s.handlers[d.EventType]; !ok {
		s.metrics.DeliveriesUnhandled.WithLabelValues(d.EventType).Inc()
		log.Debug().Msg("no handler for this event type; acknowledged without storing")
		writeJSON(w, http.StatusAccepted, hookResponse{Delivery: d.ID, Status: "ignored"})
		return
	}
	s.metrics.DeliveriesReceived.WithLabelValues(d.EventType).Inc()
	inserted, err := s.opts.Inbox.Put(r.Context(), d)
	if err != nil {
		log.Error().Err(err).Msg("storing webhook delivery failed; GitHub will show the delivery as failed")
		s.reject(w, http.StatusServiceUnavailable, "store_error", "could not store the delivery")
		return
	}
	if !inserted {
		s.metrics.DeliveriesDeduplicated.WithLabelValues(d.EventType).Inc()
		log.Info().Msg("redelivery of a stored delivery acknowledged; not processed again")
		writeJSON(w, http.StatusOK, hookResponse{Delivery: d.ID, Status: "duplicate"})
		return
	}
	log.Info().Msg("webhook delivery stored")
	select {
	case s.wake <- struct{}{}:
	default: // every worker already has a wake-up pending
	}
	writeJSON(w, http.StatusAccepted, hookResponse{Delivery: d.ID, Status: "stored"})
}

// deliveryLogger attaches the delivery's identity with go-githubapp's log keys.
func deliveryLogger(base zerolog.Logger, d *store.Delivery) zerolog.Logger {
	lc := base.With().Str(githubapp.LogKeyDeliveryID, d.ID).Str(githubapp.LogKeyEventType, d.EventType)
	if d.Action != "" {
		lc = lc.Str("github_action", d.Action)
	}
	if d.InstallationID != 0 {
		lc = lc.Int64(githubapp.LogKeyInstallationID, d.InstallationID)
	}
	if owner, name, ok := splitRepo(d.Repository); ok {
		lc = lc.Str(githubapp.LogKeyRepositoryOwner, owner).Str(githubapp.LogKeyRepositoryName, name)
	}
	return lc.Logger()
}

func splitRepo(full string) (owner, name string, ok bool) {
	for i := 0; i < len(full); i++ {
		if full[i] == '/' {
			return full[:i], full[i+1:], true
		}
	}
	return "", "", false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
