package webhook

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/parcelflow/conveyor/store"
)

// releaseGrace is how long Shutdown waits, after its deadline has cancelled
// in-flight handlers, for them to hand their deliveries back to the inbox.
const releaseGrace = time.Second

// bookkeepingTimeout bounds the inbox writes that record an attempt's outcome.
const bookkeepingTimeout = 10 * time.Second

// Start runs the worker pool and the housekeeping loop until Shutdown. ctx
// is the parent of every handler's context (its logger is inherited);
// cancelling it stops the pool at once, like an expired Shutdown.
func (s *Server) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("webhook: server already started")
	}
	s.workCtx, s.cancel = context.WithCancel(ctx)
	for i := range s.opts.Workers {
		s.wg.Add(1)
		go s.work(fmt.Sprintf("%s-%d", s.opts.WorkerID, i))
	}
	s.wg.Add(1)
	go s.housekeep()
	return nil
}

// Shutdown stops claiming new deliveries and waits for in-flight ones until
// ctx is done; then it cancels them, and each is handed back to the inbox
// (its attempt not counted) to be resumed on the next start. It returns
// ctx's error when it had to cancel work.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.stopOnce.Do(func() { close(s.stop) })
	if !s.started.Load() {
		return nil
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	select {
	case <-done:
	case <-time.After(releaseGrace):
		s.log.Warn().Msg("handlers still running after shutdown; their leases will expire and another start will take them over")
	}
	return ctx.Err()
}

func (s *Server) stopping() bool {
	select {
	case <-s.stop:
		return true
	case <-s.workCtx.Done():
		return true
	default:
		return false
	}
}

// work claims and processes deliveries one at a time until stopped. Idle
// workers sleep until the intake wakes them or the poll interval passes
// (deliveries stored by another replica, or due for a retry).
func (s *Server) work(workerID string) {
	defer s.wg.Done()
	poll := time.NewTimer(0)
	defer poll.Stop()
	for !s.stopping() {
		d, err := s.opts.Inbox.Claim(s.workCtx, workerID, s.opts.Lease)
		if err != nil && !s.stopping() {
			s.log.Error().Err(err).Str("worker", workerID).Msg("claiming from the inbox failed")
		}
		if d != nil {
			s.process(workerID, d)
			continue
		}
		poll.Reset(jitter(s.opts.PollInterval))
		select {
		case <-s.stop:
			return
		case <-s.workCtx.Done():
			return
		case <-s.wake:
		case <-poll.C:
		}
	}
}

// process runs one attempt of one delivery and records its outcome.
func (s *Server) process(workerID string, d *store.Delivery) {
	log := deliveryLogger(s.log, d).With().Int("attempt", d.Attempts).Str("worker", workerID).Logger()
	ctx := githubapp.InitializeResponder(log.WithContext(s.workCtx))
	bk := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	}

	h, ok := s.handlers[d.EventType]
	if !ok {
		// Stored under an older handler set: nothing here takes it any more.
		bctx, cancel := bk()
		defer cancel()
		if err := s.opts.Inbox.Complete(bctx, d.ID, workerID); err != nil {
			log.Error().Err(err).Msg("completing a delivery no handler takes failed")
		}
		log.Warn().Msg("no handler for this event type any more; marked done")
		return
	}

	timeout := s.opts.HandlerTimeout
	if t, ok := s.opts.EventTimeouts[d.EventType]; ok && t > 0 {
		timeout = t
	}
	hctx, cancelHandler := context.WithTimeout(ctx, timeout)
	heartbeatDone := s.heartbeat(hctx, cancelHandler, workerID, d.ID)
	start := time.Now()
	err := callHandler(hctx, h, d)
	elapsed := time.Since(start)
	cancelHandler()
	<-heartbeatDone

	bctx, cancel := bk()
	defer cancel()
	switch {
	case err == nil:
		s.metrics.HandlerDuration.WithLabelValues(d.EventType, "ok").Observe(elapsed.Seconds())
		s.metrics.DeliveriesProcessed.WithLabelValues(d.EventType).Inc()
		if err := s.opts.Inbox.Complete(bctx, d.ID, workerID); err != nil {
			log.Error().Err(err).Msg("recording a finished delivery failed")
			return
		}
		log.Info().Dur("elapsed", elapsed).Msg("webhook delivery processed")
	case s.workCtx.Err() != nil:
		// Shutting down: this attempt did not fail, it was interrupted.
		if rerr := s.opts.Inbox.Release(bctx, d.ID, workerID); rerr != nil {
			log.Error().Err(rerr).Msg("handing an interrupted delivery back failed; its lease will expire")
			return
		}
		log.Info().Msg("shutdown interrupted the handler; delivery left for the next start")
	default:
		outcome := "error"
		var p *panicError
		if errors.As(err, &p) {
			outcome = "panic"
		}
		s.metrics.HandlerDuration.WithLabelValues(d.EventType, outcome).Observe(elapsed.Seconds())
		s.metrics.DeliveryAttemptsFailed.WithLabelValues(d.EventType).Inc()
		if d.Attempts >= s.opts.MaxAttempts {
			s.metrics.DeliveriesParked.WithLabelValues(d.EventType).Inc()
			if perr := s.opts.Inbox.Park(bctx, d.ID, workerID, err.Error()); perr != nil {
				log.Error().Err(perr).Msg("parking a failed delivery failed")
			}
			log.Error().Err(err).Msg("handler failed on its last attempt; delivery parked (see `conveyor inbox list --status failed`)")
			return
		}
		wait := backoff(d.Attempts, s.opts.BackoffBase, s.opts.BackoffMax)
		if ferr := s.opts.Inbox.Fail(bctx, d.ID, workerID, err.Error(), time.Now().Add(wait)); ferr != nil {
			log.Error().Err(ferr).Msg("recording a failed attempt failed")
		}
		log.Warn().Err(err).Dur("retry_in", wait).Msg("handler failed; will retry")
	}
}

// heartbeat renews the claim while the handler runs. If the lease is lost
// (another worker took the delivery over) the handler is cancelled, since
// its work would be repeated anyway.
func (s *Server) heartbeat(ctx context.Context, cancelHandler context.CancelFunc, workerID, id string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				err := s.opts.Inbox.Extend(context.WithoutCancel(ctx), id, workerID, s.opts.Lease)
				if errors.Is(err, store.ErrLeaseLost) {
					s.log.Error().Str("github_delivery_id", id).Msg("lease lost while handling; cancelling the handler")
					cancelHandler()
					return
				}
				if err != nil {
					s.log.Warn().Err(err).Str("github_delivery_id", id).Msg("renewing the lease failed; will try again")
				}
			}
		}
	}()
	return done
}

// panicError is a handler panic turned into a failed attempt.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("handler panicked: %v\n%s", p.value, p.stack) }

// callHandler runs the handler, turning a panic into an error so one bad
// payload cannot take the process down.
func callHandler(ctx context.Context, h githubapp.EventHandler, d *store.Delivery) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h.Handle(ctx, d.EventType, d.ID, d.Payload)
}

// backoff is the wait after the given failed attempt (1-based): base
// doubling per attempt up to max, then "equal jitter" (half fixed, half
// random) so deliveries that failed together do not retry together.
func backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// jitter spreads idle polls by ±10% so replicas do not poll in lockstep.
func jitter(d time.Duration) time.Duration {
	spread := d / 10
	if spread <= 0 {
		return d
	}
	return d - spread + rand.N(2*spread+1)
}

// housekeep publishes inbox depth and age, and prunes old finished deliveries.
func (s *Server) housekeep() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		ctx, cancel := context.WithTimeout(s.workCtx, bookkeepingTimeout)
		if st, err := s.opts.Inbox.Stats(ctx); err == nil {
			s.metrics.SetInbox(st.Pending, st.Failed, st.OldestPending, time.Now())
		} else if !s.stopping() {
			s.log.Warn().Err(err).Msg("reading inbox stats failed")
		}
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			if n, err := s.opts.Inbox.Prune(ctx, time.Now().Add(-s.opts.Retention)); err != nil && !s.stopping() {
				s.log.Warn().Err(err).Msg("pruning finished deliveries failed")
			} else if n > 0 {
				s.log.Info().Int64("pruned", n).Msg("pruned finished deliveries")
			}
		}
		cancel()
		select {
		case <-s.stop:
			return
		case <-s.workCtx.Done():
			return
		case <-t.C:
		}
	}
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "conveyor"
	}
	b := make([]byte, 4)
	_, _ = crand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
