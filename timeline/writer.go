// Package timeline is the only code that writes to a pull request: check runs,
// comments, reactions and GitHub deployments. Every write goes through one
// Writer, which keeps within GitHub's size limits, retries GitHub's transient
// failures (5xx, secondary and primary rate limits, honouring Retry-After) and
// masks secret values in every body it sends.
package timeline

import (
	"fmt"
	"sync"

	"github.com/google/go-github/v74/github"
)

// Writer writes to one repository as one installation of the app. It is safe
// for concurrent use.
type Writer struct {
	gh     *github.Client
	owner  string
	repo   string
	redact *Redactor
	retry  Retry

	mu sync.Mutex
	// names remembers the name of each check run this writer created, since
	// GitHub wants the name on every update.
	names map[int64]string
}

// Option configures a Writer.
type Option func(*Writer)

// WithRetry sets how transient failures are retried.
func WithRetry(r Retry) Option { return func(w *Writer) { w.retry = r.withDefaults() } }

// New returns a writer to owner/repo through gh, an installation client.
// redact masks secret values in every body sent; nil masks nothing.
func New(gh *github.Client, owner, repo string, redact *Redactor, opts ...Option) *Writer {
	w := &Writer{gh: gh, owner: owner, repo: repo, redact: redact, retry: Retry{}.withDefaults(), names: map[int64]string{}}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Owner is the repository's owner.
func (w *Writer) Owner() string { return w.owner }

// Repo is the repository's name.
func (w *Writer) Repo() string { return w.repo }

// Client is the installation client the writer uses, for reads (trees,
// compares) that should share its connection and token.
func (w *Writer) Client() *github.Client { return w.gh }

func (w *Writer) red(s string) string { return w.redact.Redact(s) }

func (w *Writer) redp(s string) *string {
	r := w.red(s)
	return &r
}

func (w *Writer) where() string { return fmt.Sprintf("%s/%s", w.owner, w.repo) }
