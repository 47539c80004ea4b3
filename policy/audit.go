package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// GenesisHash is the PrevHash of the first event of an audit chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Event is one audit record: who did what, to which environment, what was
// decided and why. Each event carries the hash of the one before it, so
// changing, removing or reordering a stored event breaks the chain.
type Event struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Repo     string    `json:"repo,omitempty"`
	PR       int       `json:"pr,omitempty"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"` // a command ("promote"), "policy", "gate", "deploy"…
	Env      string    `json:"env,omitempty"`
	Delivery string    `json:"delivery,omitempty"` // X-GitHub-Delivery of the webhook
	// InputsHash is HashInputs of everything the decision looked at.
	InputsHash string   `json:"inputs_hash,omitempty"`
	Decision   string   `json:"decision"` // allowed, refused, success, pending, failure, done…
	Reasons    []string `json:"reasons,omitempty"`
	BreakGlass bool     `json:"break_glass,omitempty"`
	// Membership is the team membership the decision relied on (team → logins).
	Membership map[string][]string `json:"membership,omitempty"`
	PrevHash   string              `json:"prev_hash"`
	Hash       string              `json:"hash"`
}

// canonicalEvent fixes the hashed form: field order, UTC time with
// nanoseconds, sorted map keys (encoding/json sorts them), no Hash field.
type canonicalEvent struct {
	V          int                 `json:"v"`
	Seq        int64               `json:"seq"`
	Time       string              `json:"time"`
	Repo       string              `json:"repo"`
	PR         int                 `json:"pr"`
	Actor      string              `json:"actor"`
	Action     string              `json:"action"`
	Env        string              `json:"env"`
	Delivery   string              `json:"delivery"`
	InputsHash string              `json:"inputs_hash"`
	Decision   string              `json:"decision"`
	Reasons    []string            `json:"reasons"`
	BreakGlass bool                `json:"break_glass"`
	Membership map[string][]string `json:"membership"`
	PrevHash   string              `json:"prev_hash"`
}

// ComputeHash returns the event's hash: SHA-256, hex, of its canonical JSON
// encoding (every field but Hash).
func (e Event) ComputeHash() string {
	c := canonicalEvent{V: 1, Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano), Repo: e.Repo, PR: e.PR, Actor: e.Actor,
		Action: e.Action, Env: e.Env, Delivery: e.Delivery, InputsHash: e.InputsHash, Decision: e.Decision,
		Reasons: e.Reasons, BreakGlass: e.BreakGlass, Membership: e.Membership, PrevHash: e.PrevHash}
	if len(c.Reasons) == 0 {
		c.Reasons = []string{}
	}
	if len(c.Membership) == 0 {
		c.Membership = map[string][]string{}
	}
	data, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("policy: encoding an audit event cannot fail: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Chain links ev after prev (nil for the first event): it sets Seq,
// PrevHash and Hash, and normalises Time to UTC.
func Chain(prev *Event, ev Event) Event {
	ev.Seq, ev.PrevHash = 1, GenesisHash
	if prev != nil {
		ev.Seq, ev.PrevHash = prev.Seq+1, prev.Hash
	}
	ev.Time = ev.Time.UTC()
	ev.Hash = ev.ComputeHash()
	return ev
}

// ChainError is the first broken link of an audit chain.
type ChainError struct {
	Seq int64
	Msg string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", e.Seq, e.Msg)
}

// VerifyNext checks that ev correctly follows prev (nil for the first event).
func VerifyNext(prev *Event, ev Event) error {
	wantSeq, wantPrev := int64(1), GenesisHash
	if prev != nil {
		wantSeq, wantPrev = prev.Seq+1, prev.Hash
	}
	switch {
	case ev.Seq != wantSeq:
		return &ChainError{Seq: ev.Seq, Msg: fmt.Sprintf("expected event %d here; an event is missing or out of order", wantSeq)}
	case ev.PrevHash != wantPrev:
		return &ChainError{Seq: ev.Seq, Msg: "its prev_hash does not match the hash of the event before it"}
	case ev.ComputeHash() != ev.Hash:
		return &ChainError{Seq: ev.Seq, Msg: "its content does not match its hash; the event was changed after it was written"}
	}
	return nil
}

// VerifyChain checks a whole chain in order and reports the first broken link.
func VerifyChain(events []Event) error {
	var prev *Event
	for i := range events {
		if err := VerifyNext(prev, events[i]); err != nil {
			return err
		}
		prev = &events[i]
	}
	return nil
}

// HashInputs returns "sha256:<hex>" of v's JSON encoding (map keys sorted),
// the InputsHash of an event.
func HashInputs(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hashing decision inputs: %w", err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
