// Package githubemu is an in-process emulator of the parts of GitHub's REST API v3 and
// webhooks that Conveyor uses. Tests and the demo point real go-github and go-githubapp
// clients at it by base URL, so the code under test runs unchanged over real HTTP: app JWT
// to installation token exchange, pagination, rate-limit headers and GitHub's error shapes
// included. State is in memory and every method is safe for concurrent use.
package githubemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v74/github"
)

// Options configures an Emulator. The zero value is usable.
type Options struct {
	// AppID is the GitHub App's ID (the JWT issuer). Default 1001.
	AppID int64
	// AppSlug names the app; API writes are attributed to "<slug>[bot]". Default "conveyor".
	AppSlug string
	// InstallationID is the single installation of the app. Default 2002.
	InstallationID int64
	// Account is the login of the organization the app is installed on. Default "parcelflow".
	Account string
	// PrivateKeyPEM is the app's RSA private key (PKCS#1 or PKCS#8). Generated when empty.
	PrivateKeyPEM []byte
	// TokenTTL is how long installation tokens live. Default one hour, as on GitHub.
	TokenTTL time.Duration
	// RateLimit is the core request budget per hour. Default 5000.
	RateLimit int
	// Now replaces the clock, for tests of expiry. Default time.Now.
	Now func() time.Time
	// HTTPClient delivers webhooks. Default a client with a 10 s timeout.
	HTTPClient *http.Client
	// CheckSuiteOnPush makes every push (and every merge queue entry's branch) also send
	// check_suite "requested", as GitHub does for apps subscribed to check suites. Off by
	// default so tests see only the events they cause.
	CheckSuiteOnPush bool
}

// Emulator is an in-memory GitHub. Use New, then Start (or mount Handler yourself).
type Emulator struct {
	opts       Options
	key        *rsa.PrivateKey
	keyPEM     []byte
	mux        *http.ServeMux
	httpClient *http.Client

	mu          sync.Mutex
	nextID      int64
	reqSeq      int64
	tokens      map[string]time.Time
	repos       map[string]*Repo
	users       map[string]*userRec
	orgMembers  map[string]map[string]bool
	teams       map[string]*Team
	calls       []Call
	faults      []*fault
	rateUsed    int
	rateReset   time.Time
	hookURL     string
	hookSecret  string
	deliveries  []Delivery
	baseURL     string
	srv         *httptest.Server
	comments    map[int64]*Comment
	commentRepo map[int64]*Repo
}

// New builds an emulator. It panics only if no RSA key can be had, which is a programming error.
func New(opts Options) *Emulator {
	if opts.AppID == 0 {
		opts.AppID = 1001
	}
	if opts.AppSlug == "" {
		opts.AppSlug = "conveyor"
	}
	if opts.InstallationID == 0 {
		opts.InstallationID = 2002
	}
	if opts.Account == "" {
		opts.Account = "parcelflow"
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 5000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Emulator{
		opts:        opts,
		httpClient:  opts.HTTPClient,
		nextID:      100,
		tokens:      map[string]time.Time{},
		repos:       map[string]*Repo{},
		users:       map[string]*userRec{},
		orgMembers:  map[string]map[string]bool{},
		teams:       map[string]*Team{},
		comments:    map[int64]*Comment{},
		commentRepo: map[int64]*Repo{},
	}
	if e.httpClient == nil {
		e.httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	if err := e.loadKey(opts.PrivateKeyPEM); err != nil {
		panic(fmt.Sprintf("githubemu: app key: %v", err))
	}
	e.rateReset = opts.Now().Add(time.Hour)
	e.user(opts.Account).typ = "Organization"
	e.user(e.botLogin()).typ = "Bot"
	e.routes()
	return e
}

var (
	// sharedKeyOnce guards a key generated once per test binary: RSA generation costs
	// tens of milliseconds, and suites build many emulators. The key is never mutated.
	sharedKeyOnce sync.Once
	sharedKey     *rsa.PrivateKey
	sharedKeyErr  error
)

func (e *Emulator) loadKey(pemBytes []byte) error {
	if len(pemBytes) == 0 {
		sharedKeyOnce.Do(func() { sharedKey, sharedKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
		if sharedKeyErr != nil {
			return sharedKeyErr
		}
		e.key = sharedKey
		e.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sharedKey)})
		return nil
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return fmt.Errorf("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		e.key, e.keyPEM = k, pemBytes
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("parsing private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("private key is %T, want RSA", k)
	}
	e.key, e.keyPEM = rk, pemBytes
	return nil
}

// AppID is the app's ID, for go-githubapp's Config.App.IntegrationID.
func (e *Emulator) AppID() int64 { return e.opts.AppID }

// AppSlug is the app's slug; its API writes appear as AppSlug()+"[bot]".
func (e *Emulator) AppSlug() string { return e.opts.AppSlug }

// InstallationID is the app's only installation.
func (e *Emulator) InstallationID() int64 { return e.opts.InstallationID }

// AppPrivateKeyPEM is the app's private key, for go-githubapp's Config.App.PrivateKey.
func (e *Emulator) AppPrivateKeyPEM() []byte { return append([]byte(nil), e.keyPEM...) }

// Handler serves the API. Routes answer both at "/" and under "/api/v3/".
func (e *Emulator) Handler() http.Handler { return http.HandlerFunc(e.serve) }

// Start serves the emulator on a loopback port. The base URL has no trailing slash and
// works for both go-github's WithEnterpriseURLs(base, base) and go-githubapp's
// V3APIURL (base+"/"). close stops the server.
func (e *Emulator) Start() (baseURL string, close func()) {
	srv := httptest.NewServer(e.Handler())
	e.mu.Lock()
	e.srv = srv
	e.baseURL = srv.URL
	e.mu.Unlock()
	return srv.URL, srv.Close
}

// SetBaseURL tells the emulator where it is served when Handler is mounted by the caller;
// Start sets it. It is used for the absolute URLs inside JSON bodies and webhooks.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.baseURL = strings.TrimSuffix(u, "/")
}

// BaseURL is the URL the emulator is served at ("" before Start or SetBaseURL).
func (e *Emulator) BaseURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baseURL
}

// Client returns a go-github client for the installation, built the way production code
// builds one for GitHub Enterprise, with a freshly minted installation token.
func (e *Emulator) Client() *github.Client {
	base := e.BaseURL()
	c, err := github.NewClient(nil).WithAuthToken(e.InstallationToken()).WithEnterpriseURLs(base+"/", base+"/")
	if err != nil {
		panic(fmt.Sprintf("githubemu: client for %q: %v", base, err))
	}
	return c
}

func (e *Emulator) now() time.Time { return e.opts.Now().UTC() }

// newID hands out IDs unique across every kind of object, like GitHub's database IDs.
// Callers hold e.mu.
func (e *Emulator) newID() int64 {
	e.nextID++
	return e.nextID
}

func (e *Emulator) botLogin() string { return e.opts.AppSlug + "[bot]" }

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}
