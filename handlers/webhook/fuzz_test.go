package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/parcelflow/conveyor/store"
)

// memInbox is an in-memory Inbox for the fuzz target, which runs too often
// for a database per input.
type memInbox struct {
	mu  sync.Mutex
	put []store.Delivery
}

func (m *memInbox) Put(_ context.Context, d store.Delivery) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put = append(m.put, d)
	return true, nil
}
func (m *memInbox) Claim(context.Context, string, time.Duration) (*store.Delivery, error) {
	return nil, nil
}
func (m *memInbox) Extend(context.Context, string, string, time.Duration) error   { return nil }
func (m *memInbox) Complete(context.Context, string, string) error                { return nil }
func (m *memInbox) Fail(context.Context, string, string, string, time.Time) error { return nil }
func (m *memInbox) Park(context.Context, string, string, string) error            { return nil }
func (m *memInbox) Release(context.Context, string, string) error                 { return nil }
func (m *memInbox) Stats(context.Context) (store.InboxStats, error)               { return store.InboxStats{}, nil }
func (m *memInbox) Prune(context.Context, time.Time) (int64, error)               { return 0, nil }
func (m *memInbox) Ping(context.Context) error                                    { return nil }

// FuzzIntake drives arbitrary headers and bodies through the webhook
// endpoint: it must never panic, and nothing whose signature does not match
// the body under the secret may be stored.
func FuzzIntake(f *testing.F) {
	body := []byte(`{"action":"opened","installation":{"id":1},"repository":{"full_name":"a/b"}}`)
	f.Add("pull_request", "d-1", "application/json", Sign(testSecret, body), body, true)
	f.Add("pull_request", "d-1", "application/json", Sign("other", body), body, false)
	f.Add("push", "d-2", "application/x-www-form-urlencoded", "", []byte("payload=%7B%7D"), true)
	f.Add("", "", "", "sha256=", []byte{}, false)
	f.Add("issue_comment", "x\x00y", "text/plain; charset=\xff", "sha256=zz", []byte("\xff\xfe"), true)
	f.Add("ping", strings.Repeat("a", 200), "application/json", "sha1=abc", []byte(`[]`), true)
	f.Fuzz(func(t *testing.T, event, id, contentType, sig string, body []byte, signCorrectly bool) {
		inbox := &memInbox{}
		srv, err := NewServer(Options{Inbox: inbox, Secrets: []string{testSecret},
			Handlers: []githubapp.EventHandler{newTestHandler(nil, "pull_request", "push", "issue_comment", "ping")}})
		if err != nil {
			t.Fatal(err)
		}
		if signCorrectly {
			sig = Sign(testSecret, body)
		}
		req := httptest.NewRequest(http.MethodPost, HookPath, bytes.NewReader(body))
		for k, v := range map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": id, "Content-Type": contentType, SignatureHeader: sig} {
			if validHeaderValue(v) {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)

		mac := hmac.New(sha256.New, []byte(testSecret))
		mac.Write(body)
		authentic := req.Header.Get(SignatureHeader) == "sha256="+hex.EncodeToString(mac.Sum(nil))
		if !authentic {
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("unsigned request answered %d, want 401", rec.Code)
			}
			if len(inbox.put) != 0 {
				t.Fatalf("unsigned request stored: %+v", inbox.put)
			}
			return
		}
		for _, d := range inbox.put {
			if d.ID != req.Header.Get("X-GitHub-Delivery") || d.EventType != req.Header.Get("X-GitHub-Event") || d.ID == "" {
				t.Fatalf("stored %+v from headers %v", d, req.Header)
			}
		}
		if len(inbox.put) > 0 && rec.Code != http.StatusAccepted {
			t.Fatalf("stored but answered %d", rec.Code)
		}
	})
}

// FuzzDecodeDelivery checks the header and payload decoding on its own:
// no panic, and an accepted delivery always has its identity.
func FuzzDecodeDelivery(f *testing.F) {
	f.Add("pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "application/json", []byte(`{"action":"opened"}`))
	f.Add("push", "id", "application/x-www-form-urlencoded", []byte(`payload=%7B%22ref%22%3A1%7D`))
	f.Add("x", "y", "multipart/form-data; boundary=", []byte(`{`))
	f.Add("check_run", "z", "", []byte(`{"installation":{"id":"1"}}`))
	f.Fuzz(func(t *testing.T, event, id, contentType string, body []byte) {
		h := http.Header{}
		h.Set(EventHeader, event)
		h.Set(DeliveryHeader, id)
		h.Set("Content-Type", contentType)
		d, err := decodeDelivery(h, body)
		if err != nil {
			return
		}
		if d.ID != id || d.EventType != event || d.ID == "" || d.EventType == "" {
			t.Fatalf("decoded %+v from event %q id %q", d, event, id)
		}
		if len(d.Payload) == 0 {
			t.Fatal("accepted an empty payload")
		}
	})
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
