package githubemu

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// pendingEvent is a webhook built under the lock and sent after it is released, so the
// receiver may call back into the emulator.
type pendingEvent struct {
	event   string
	payload map[string]any
}

// Delivery is one webhook sent (or built, when no target is set).
type Delivery struct {
	ID         string
	Event      string
	Action     string
	Payload    []byte
	URL        string
	Status     int
	Err        error
	Redelivery bool
	Time       time.Time
}

// hookID identifies the app's webhook in X-GitHub-Hook-ID.
const hookID = 424242

// SetWebhookTarget makes user actions deliver their webhooks to url, signed with secret.
// Until it is set, webhooks are only recorded (see Deliveries). Pass "" to stop delivering.
func (e *Emulator) SetWebhookTarget(url, secret string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hookURL, e.hookSecret = url, secret
}

// Deliveries lists every webhook built so far with the outcome of its delivery, oldest first.
func (e *Emulator) Deliveries() []Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Delivery(nil), e.deliveries...)
}

// LastDelivery is the most recent webhook of eventType ("" for any).
func (e *Emulator) LastDelivery(eventType string) (Delivery, bool) {
	ds := e.Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		if eventType == "" || ds[i].Event == eventType {
			return ds[i], true
		}
	}
	return Delivery{}, false
}

// ResetDeliveries forgets recorded webhooks.
func (e *Emulator) ResetDeliveries() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deliveries = nil
}

// NewDeliveryID is a GitHub-style delivery GUID (a random UUID).
func NewDeliveryID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// dispatch sends events in order, synchronously: when an action method returns, its
// webhooks have been acknowledged (or failed), which keeps tests deterministic.
func (e *Emulator) dispatch(evs ...pendingEvent) {
	for _, ev := range evs {
		body, err := json.Marshal(ev.payload)
		if err != nil {
			panic(fmt.Sprintf("githubemu: encoding %s payload: %v", ev.event, err))
		}
		action, _ := ev.payload["action"].(string)
		d := Delivery{ID: NewDeliveryID(), Event: ev.event, Action: action, Payload: body, Time: e.now()}
		e.mu.Lock()
		url, secret := e.hookURL, e.hookSecret
		e.mu.Unlock()
		if url != "" {
			d.URL = url
			d.Status, d.Err = e.send(url, secret, ev.event, d.ID, body)
		}
		e.mu.Lock()
		e.deliveries = append(e.deliveries, d)
		e.mu.Unlock()
	}
}

func (e *Emulator) send(url, secret, event, id string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.Deliver(ctx, url, secret, event, id, body)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign returns GitHub's X-Hub-Signature-256 value for body: "sha256=" + hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Deliver POSTs a webhook exactly as GitHub does: JSON body, event and delivery headers,
// and both signatures when secret is non-empty (none when it is empty, as GitHub does for
// hooks without a secret). Tests use it to send unsigned or mis-signed events.
func (e *Emulator) Deliver(ctx context.Context, url, secret, eventType, deliveryID string, payload []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("building webhook request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/5f4e3d2")
	h.Set("Accept", "*/*")
	h.Set("X-GitHub-Event", eventType)
	h.Set("X-GitHub-Delivery", deliveryID)
	h.Set("X-GitHub-Hook-ID", strconv.Itoa(hookID))
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(e.opts.AppID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	if secret != "" {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write(payload)
		h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(m.Sum(nil)))
		h.Set("X-Hub-Signature-256", Sign(secret, payload))
	}
	resp, err := e.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("delivering %s %s: %w", eventType, deliveryID, err)
	}
	return resp, nil
}

// Redeliver sends a recorded delivery again with the same delivery ID and payload, as
// GitHub's "Redeliver" button does, to the current target.
func (e *Emulator) Redeliver(deliveryID string) (Delivery, error) {
	e.mu.Lock()
	var orig *Delivery
	for i := range e.deliveries {
		if e.deliveries[i].ID == deliveryID {
			orig = &e.deliveries[i]
			break
		}
	}
	url, secret := e.hookURL, e.hookSecret
	var d Delivery
	if orig != nil {
		d = *orig
	}
	e.mu.Unlock()
	if orig == nil {
		return Delivery{}, fmt.Errorf("redelivering %s: no such delivery", deliveryID)
	}
	if url == "" {
		return Delivery{}, fmt.Errorf("redelivering %s: no webhook target set", deliveryID)
	}
	d.URL, d.Redelivery, d.Time = url, true, e.now()
	d.Status, d.Err = e.send(url, secret, d.Event, d.ID, d.Payload)
	e.mu.Lock()
	e.deliveries = append(e.deliveries, d)
	e.mu.Unlock()
	return d, d.Err
}

func (r *Repo) pushPayload(branch, before, after, sender string) map[string]any {
	e := r.emu
	if before == "" {
		before = "0000000000000000000000000000000000000000"
	}
	p := e.repoEventBase(r, "", sender)
	var commits []any
	base := before
	if _, ok := r.commits[base]; !ok {
		base = ""
	}
	for _, c := range r.commitsBetween(base, after) {
		parent := ""
		if len(c.parents) > 0 {
			parent = c.parents[0]
		}
		var added, removed, modified []string
		for _, d := range r.diffTrees(parent, c.sha) {
			switch d.status {
			case "added":
				added = append(added, d.filename)
			case "removed":
				removed = append(removed, d.filename)
			case "renamed":
				added = append(added, d.filename)
				removed = append(removed, d.previous)
			default:
				modified = append(modified, d.filename)
			}
		}
		j := r.headCommitJSON(c.sha)
		j["distinct"] = true
		j["url"] = e.htmlURL("/%s/commit/%s", r.FullName(), c.sha)
		j["added"], j["removed"], j["modified"] = nonNil(added), nonNil(removed), nonNil(modified)
		commits = append(commits, j)
	}
	var head any
	if len(commits) > 0 {
		head = commits[len(commits)-1]
	}
	repo := r.json()
	repo["master_branch"] = r.DefaultBranch
	p["repository"] = repo
	p["ref"] = "refs/heads/" + branch
	p["before"], p["after"] = before, after
	p["created"] = before == "0000000000000000000000000000000000000000"
	p["deleted"], p["forced"] = false, false
	p["base_ref"] = nil
	p["compare"] = e.htmlURL("/%s/compare/%s...%s", r.FullName(), before[:12], after[:12])
	p["commits"] = nonNilAny(commits)
	p["head_commit"] = head
	p["pusher"] = map[string]any{"name": sender, "email": noreplyEmail(sender)}
	return p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilAny(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}
