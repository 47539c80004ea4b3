package timeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/rs/zerolog"
)

// Retry bounds how the writer retries GitHub's transient failures: 5xx answers,
// secondary rate limits (403/429 with Retry-After) and an exhausted primary
// rate limit (X-RateLimit-Remaining: 0 until X-RateLimit-Reset).
type Retry struct {
	// Attempts is the total number of tries per request, first included. Default 4.
	Attempts int
	// Backoff is the first wait after a 5xx without Retry-After; it doubles each
	// time. Default 1 s.
	Backoff time.Duration
	// MaxWait caps any single wait, including one asked for by Retry-After or a
	// rate-limit reset. Default 60 s.
	MaxWait time.Duration
	// Sleep waits for d or until ctx ends. Default a timer; tests inject their own.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used to turn a rate-limit reset time into a wait. Default time.Now.
	Now func() time.Time
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 4
	}
	if r.Backoff <= 0 {
		r.Backoff = time.Second
	}
	if r.MaxWait <= 0 {
		r.MaxWait = time.Minute
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (w *Writer) do(ctx context.Context, what string, fn func(ctx context.Context) (*github.Response, error)) error {
	return w.retry.Do(ctx, what, fn)
}

// Do calls fn until it succeeds, fails for good, or the attempts run out; what
// names the request in errors and logs. Readers of GitHub (trees, compares)
// use it to retry as the writer does.
func (r Retry) Do(ctx context.Context, what string, fn func(ctx context.Context) (*github.Response, error)) error {
	r = r.withDefaults()
	var err error
	for attempt := 1; ; attempt++ {
		callCtx := ctx
		if attempt > 1 {
			// The wait below already honoured GitHub's limit; go-github's own
			// pre-emptive check would otherwise refuse the retry on its clock.
			callCtx = context.WithValue(ctx, github.BypassRateLimitCheck, true)
		}
		var resp *github.Response
		resp, err = fn(callCtx)
		if err == nil {
			return nil
		}
		wait, retryable := r.waitFor(resp, err, attempt)
		if !retryable || attempt >= r.Attempts || ctx.Err() != nil {
			break
		}
		zerolog.Ctx(ctx).Warn().Err(err).Str("request", what).Int("attempt", attempt).
			Dur("wait", wait).Msg("GitHub request failed; retrying")
		if serr := r.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%s: %w (gave up waiting: %v)", what, err, serr)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// mayHaveWritten reports whether a failed write may still have taken effect:
// GitHub answered 5xx, or no answer arrived. A 4xx means it did not.
func mayHaveWritten(resp *github.Response) bool {
	return resp == nil || resp.Response == nil || resp.StatusCode >= 500
}

// uniqueMarker is a random value that tells one creation apart from every
// other, for finding it again when GitHub's answer to it was lost.
func uniqueMarker() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// waitFor classifies a failed request: whether to retry and how long to wait first.
func (r Retry) waitFor(resp *github.Response, err error, attempt int) (time.Duration, bool) {
	backoff := r.Backoff << (attempt - 1)
	var abuse *github.AbuseRateLimitError
	var limit *github.RateLimitError
	var urlErr *net.OpError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 0, false
	case errors.As(err, &abuse):
		if abuse.RetryAfter != nil {
			return r.capped(*abuse.RetryAfter), true
		}
		return r.capped(max(backoff, time.Minute)), true
	case errors.As(err, &limit):
		if limit.Rate.Reset.IsZero() {
			return r.capped(backoff), true
		}
		return r.capped(limit.Rate.Reset.Sub(r.Now()) + time.Second), true
	case resp != nil && resp.Response != nil:
		// Some endpoints (archive links) answer with a bare error; read the headers.
		code := resp.StatusCode
		if code >= 500 || code == http.StatusForbidden || code == http.StatusTooManyRequests {
			if d, ok := retryAfter(resp.Response); ok {
				return r.capped(d), true
			}
		}
		if code == http.StatusForbidden || code == http.StatusTooManyRequests {
			if resp.Header.Get("X-RateLimit-Remaining") == "0" {
				if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
					return r.capped(time.Unix(reset, 0).Sub(r.Now()) + time.Second), true
				}
			}
		}
		if code >= 500 || code == http.StatusTooManyRequests {
			return r.capped(backoff), true
		}
		return 0, false
	case resp == nil && errors.As(err, &urlErr):
		// The connection failed before an answer: GitHub may be restarting.
		return r.capped(backoff), true
	}
	return 0, false
}

func (r Retry) capped(d time.Duration) time.Duration {
	return min(max(d, 0), r.MaxWait)
}

// retryAfter reads a Retry-After header given in seconds or as an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t), true
	}
	return 0, false
}
