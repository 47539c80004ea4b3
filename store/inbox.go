package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DeliveryStatus is where a webhook delivery stands in the inbox.
type DeliveryStatus string

// Delivery statuses. A pending delivery with a live lease is being worked on.
const (
	StatusPending DeliveryStatus = "pending"
	StatusDone    DeliveryStatus = "done"
	StatusFailed  DeliveryStatus = "failed" // parked after its last attempt
)

// ParseDeliveryStatus checks s names a status.
func ParseDeliveryStatus(s string) (DeliveryStatus, error) {
	switch st := DeliveryStatus(s); st {
	case StatusPending, StatusDone, StatusFailed:
		return st, nil
	}
	return "", fmt.Errorf("unknown delivery status %q (want pending, done or failed)", s)
}

// Delivery is one verified webhook delivery, stored before it was acknowledged.
type Delivery struct {
	ID             string         `json:"id"`
	EventType      string         `json:"event_type"`
	Action         string         `json:"action,omitempty"`
	InstallationID int64          `json:"installation_id,omitempty"`
	Repository     string         `json:"repository,omitempty"`
	Payload        []byte         `json:"-"`
	Status         DeliveryStatus `json:"status"`
	Attempts       int            `json:"attempts"`
	LastError      string         `json:"last_error,omitempty"`
	ReceivedAt     time.Time      `json:"received_at"`
	NextAttemptAt  time.Time      `json:"next_attempt_at"`
	ClaimedBy      string         `json:"claimed_by,omitempty"`
	LeaseUntil     time.Time      `json:"lease_until,omitzero"`
	FinishedAt     time.Time      `json:"finished_at,omitzero"`
}

// InboxStats summarises the work waiting in the inbox.
type InboxStats struct {
	Pending       int       // deliveries not yet finished (including in-flight ones)
	Failed        int       // deliveries parked as failed
	OldestPending time.Time // receipt time of the oldest pending delivery; zero when none
}

// InboxFilter selects deliveries for List.
type InboxFilter struct {
	Status DeliveryStatus // empty for every status
	Limit  int            // 0 for the default of 100
}

// Errors callers decide on.
var (
	// ErrLeaseLost means the worker's claim expired and another worker may hold it.
	ErrLeaseLost = errors.New("inbox: lease lost")
	// ErrNotParked means Retry was asked for a delivery that is not parked as failed.
	ErrNotParked = errors.New("inbox: delivery is not parked as failed")
)

// maxErrorLen bounds the stored handler error so a huge message cannot bloat the inbox.
const maxErrorLen = 4096

// Inbox is the durable webhook inbox: deliveries keyed by X-GitHub-Delivery,
// claimed by workers under a lease, retried, parked or completed.
type Inbox struct {
	db  *DB
	now func() time.Time
	// writeMu queues this process's writers in Go rather than in SQLite's busy
	// handler, whose sleeps (up to 100 ms) would dominate webhook latency.
	// SQLite allows a single writer anyway; PostgreSQL needs no such queue.
	writeMu sync.Mutex

	// The group-commit queue of Put (see writeQueued).
	putMu      sync.Mutex
	putQueue   []*putRequest
	putWriting bool
}

// NewInbox returns the inbox kept in db.
func NewInbox(db *DB) *Inbox { return &Inbox{db: db, now: time.Now} }

// WithClock makes the inbox read the time from now (for tests of leases and backoff).
func (in *Inbox) WithClock(now func() time.Time) *Inbox {
	in.now = now
	return in
}

// Ping reports whether the store is reachable.
func (in *Inbox) Ping(ctx context.Context) error { return in.db.Ping(ctx) }

func (in *Inbox) lockWrites() func() {
	if in.db.Dialect != SQLite {
		return func() {}
	}
	in.writeMu.Lock()
	return in.writeMu.Unlock
}

func inboxMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func inboxTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Put stores d as pending unless a delivery with the same ID is already
// stored; inserted reports which. The check and the insert are one statement,
// so two concurrent redeliveries cannot both insert.
//
// Concurrent Puts are group-committed: the first caller becomes the writer
// and stores every delivery queued behind it in one transaction, so a burst
// of webhooks costs one commit rather than one each. Put returns only once
// its delivery is committed.
func (in *Inbox) Put(ctx context.Context, d Delivery) (inserted bool, err error) {
	if d.ID == "" {
		return false, errors.New("inbox: delivery has no ID")
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = in.now()
	}
	if d.Payload == nil {
		d.Payload = []byte{}
	}
	req := &putRequest{d: d, done: make(chan putResult, 1)}
	in.putMu.Lock()
	in.putQueue = append(in.putQueue, req)
	lead := !in.putWriting
	in.putWriting = true
	in.putMu.Unlock()
	if !lead {
		// Wait even if ctx ends: the writer may hand this caller the lead,
		// and the write itself is bounded by putTimeout.
		r := <-req.done
		if !r.lead {
			return r.inserted, r.err
		}
	}
	in.writeQueued(ctx)
	r := <-req.done
	return r.inserted, r.err
}

// putTimeout bounds one group commit, whatever the callers' contexts say.
const putTimeout = 10 * time.Second

type putRequest struct {
	d    Delivery
	done chan putResult
}

type putResult struct {
	inserted bool
	err      error
	lead     bool // the receiver is now the writer
}

// writeQueued commits everything queued, then hands the writer's role to
// the next waiting caller (if any) so no caller writes for others forever.
func (in *Inbox) writeQueued(ctx context.Context) {
	in.putMu.Lock()
	batch := in.putQueue
	in.putQueue = nil
	in.putMu.Unlock()

	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), putTimeout)
	defer cancel()
	results := in.insertBatch(wctx, batch)
	for i, req := range batch {
		req.done <- results[i]
	}

	in.putMu.Lock()
	defer in.putMu.Unlock()
	if len(in.putQueue) == 0 {
		in.putWriting = false
		return
	}
	in.putQueue[0].done <- putResult{lead: true}
}

const insertDelivery = `INSERT INTO inbox_deliveries
	(delivery_id, event_type, action, installation_id, repository, payload, status, received_at, next_attempt_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (delivery_id) DO NOTHING`

func insertArgs(d Delivery) []any {
	return []any{d.ID, d.EventType, d.Action, d.InstallationID, d.Repository, d.Payload, string(StatusPending),
		inboxMS(d.ReceivedAt), inboxMS(d.ReceivedAt)}
}

// insertBatch stores a batch in one transaction; if that fails, it stores
// each delivery on its own so one bad row cannot fail its neighbours.
func (in *Inbox) insertBatch(ctx context.Context, batch []*putRequest) []putResult {
	defer in.lockWrites()()
	results := make([]putResult, len(batch))
	err := in.db.Tx(ctx, func(tx *Tx) error {
		for i, req := range batch {
			res, err := tx.Exec(ctx, insertDelivery, insertArgs(req.d)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			results[i] = putResult{inserted: n == 1}
		}
		return nil
	})
	if err == nil {
		return results
	}
	if len(batch) == 1 {
		return []putResult{{err: fmt.Errorf("inbox: storing delivery %s: %w", batch[0].d.ID, err)}}
	}
	for i, req := range batch {
		res, err := in.db.Exec(ctx, insertDelivery, insertArgs(req.d)...)
		if err != nil {
			results[i] = putResult{err: fmt.Errorf("inbox: storing delivery %s: %w", req.d.ID, err)}
			continue
		}
		n, err := res.RowsAffected()
		results[i] = putResult{inserted: err == nil && n == 1, err: err}
	}
	return results
}

const deliveryColumns = `delivery_id, event_type, action, installation_id, repository, payload, status, attempts,
	last_error, received_at, next_attempt_at, claimed_by, lease_until, finished_at`

type scanner interface{ Scan(dest ...any) error }

func scanDelivery(row scanner) (*Delivery, error) {
	var (
		d                                      Delivery
		status                                 string
		received, next, leaseUntil, finishedAt int64
	)
	if err := row.Scan(&d.ID, &d.EventType, &d.Action, &d.InstallationID, &d.Repository, &d.Payload, &status, &d.Attempts,
		&d.LastError, &received, &next, &d.ClaimedBy, &leaseUntil, &finishedAt); err != nil {
		return nil, err
	}
	d.Status = DeliveryStatus(status)
	d.ReceivedAt, d.NextAttemptAt = inboxTime(received), inboxTime(next)
	d.LeaseUntil, d.FinishedAt = inboxTime(leaseUntil), inboxTime(finishedAt)
	return &d, nil
}

// nextReady finds the oldest pending delivery that is due and not leased.
// Its order is the inbox_deliveries_queue index's, so it reads from the front
// of the queue instead of sorting every pending delivery.
const nextReady = `SELECT delivery_id FROM inbox_deliveries
	WHERE status = ? AND next_attempt_at <= ? AND lease_until <= ?
	ORDER BY received_at, delivery_id LIMIT 1`

// Claim takes the oldest pending delivery that is due and not leased by a
// live worker, counts an attempt and leases it to workerID until now+lease.
// It returns nil and no error when nothing is ready. A worker that dies
// holding a claim loses it when the lease runs out, and the delivery is
// claimed again.
func (in *Inbox) Claim(ctx context.Context, workerID string, lease time.Duration) (*Delivery, error) {
	// Find a candidate with a plain read, so idle polls never take the write
	// lock; then claim it with an update whose WHERE re-checks readiness.
	// If another worker (or replica) won the race, try the next candidate.
	for range 5 {
		now := inboxMS(in.now())
		var id string
		err := in.db.QueryRow(ctx, nextReady, string(StatusPending), now, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("inbox: finding a ready delivery: %w", err)
		}
		unlock := in.lockWrites()
		d, err := scanDelivery(in.db.QueryRow(ctx, `UPDATE inbox_deliveries
			SET attempts = attempts + 1, claimed_by = ?, lease_until = ?
			WHERE delivery_id = ? AND status = ? AND next_attempt_at <= ? AND lease_until <= ?
			RETURNING `+deliveryColumns,
			workerID, now+lease.Milliseconds(), id, string(StatusPending), now, now))
		unlock()
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("inbox: claiming delivery %s: %w", id, err)
		}
	}
	return nil, nil
}

// finish applies a transition to a delivery still claimed by workerID.
func (in *Inbox) finish(ctx context.Context, what, id, workerID, set string, args ...any) error {
	defer in.lockWrites()()
	args = append(args, id, workerID, string(StatusPending))
	res, err := in.db.Exec(ctx, `UPDATE inbox_deliveries SET `+set+`
		WHERE delivery_id = ? AND claimed_by = ? AND status = ?`, args...)
	if err != nil {
		return fmt.Errorf("inbox: %s %s: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("inbox: %s %s: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("inbox: %s %s: %w", what, id, ErrLeaseLost)
	}
	return nil
}

// Extend renews workerID's lease on a delivery it is still working on.
func (in *Inbox) Extend(ctx context.Context, id, workerID string, lease time.Duration) error {
	return in.finish(ctx, "extending lease of", id, workerID, `lease_until = ?`, inboxMS(in.now().Add(lease)))
}

// Complete marks a claimed delivery as done.
func (in *Inbox) Complete(ctx context.Context, id, workerID string) error {
	return in.finish(ctx, "completing", id, workerID,
		`status = ?, finished_at = ?, lease_until = 0, last_error = ''`, string(StatusDone), inboxMS(in.now()))
}

// Fail records a failed attempt and schedules the next one at next.
func (in *Inbox) Fail(ctx context.Context, id, workerID, errMsg string, next time.Time) error {
	return in.finish(ctx, "failing", id, workerID,
		`last_error = ?, next_attempt_at = ?, lease_until = 0, claimed_by = ''`, truncate(errMsg), inboxMS(next))
}

// Park records the last failed attempt and parks the delivery as failed,
// where it waits for an operator's Retry.
func (in *Inbox) Park(ctx context.Context, id, workerID, errMsg string) error {
	return in.finish(ctx, "parking", id, workerID,
		`status = ?, last_error = ?, finished_at = ?, lease_until = 0`, string(StatusFailed), truncate(errMsg), inboxMS(in.now()))
}

// Release gives a claimed delivery back without counting the attempt, for a
// worker that is shutting down in the middle of it.
func (in *Inbox) Release(ctx context.Context, id, workerID string) error {
	return in.finish(ctx, "releasing", id, workerID,
		`attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, lease_until = 0, claimed_by = ''`)
}

// Retry puts a parked delivery back in the queue with a fresh attempt budget.
func (in *Inbox) Retry(ctx context.Context, id string) error {
	unlock := in.lockWrites()
	res, err := in.db.Exec(ctx, `UPDATE inbox_deliveries
		SET status = ?, attempts = 0, next_attempt_at = ?, lease_until = 0, claimed_by = '', finished_at = 0
		WHERE delivery_id = ? AND status = ?`,
		string(StatusPending), inboxMS(in.now()), id, string(StatusFailed))
	unlock()
	if err != nil {
		return fmt.Errorf("inbox: retrying %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("inbox: retrying %s: %w", id, err)
	} else if n == 1 {
		return nil
	}
	d, err := in.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("inbox: retrying %s: %w", id, err)
	}
	return fmt.Errorf("inbox: retrying %s (status %s): %w", id, d.Status, ErrNotParked)
}

// Get returns one delivery with its payload, or ErrNotFound.
func (in *Inbox) Get(ctx context.Context, id string) (*Delivery, error) {
	d, err := scanDelivery(in.db.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM inbox_deliveries WHERE delivery_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("inbox: delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: reading delivery %s: %w", id, err)
	}
	return d, nil
}

// List returns deliveries, newest first, without their payloads.
func (in *Inbox) List(ctx context.Context, f InboxFilter) ([]Delivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT delivery_id, event_type, action, installation_id, repository, NULL, status, attempts,
		last_error, received_at, next_attempt_at, claimed_by, lease_until, finished_at FROM inbox_deliveries`
	var args []any
	if f.Status != "" {
		q += ` WHERE status = ?`
		args = append(args, string(f.Status))
	}
	q += ` ORDER BY received_at DESC, delivery_id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := in.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("inbox: listing deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("inbox: listing deliveries: %w", err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox: listing deliveries: %w", err)
	}
	return out, nil
}

// Stats counts pending and parked deliveries and finds the oldest pending one.
func (in *Inbox) Stats(ctx context.Context) (InboxStats, error) {
	var (
		st     InboxStats
		oldest sql.NullInt64
	)
	// Two index-backed queries rather than one scan of the whole table,
	// which holds every finished delivery of the retention period.
	if err := in.db.QueryRow(ctx, `SELECT COUNT(*), MIN(received_at) FROM inbox_deliveries WHERE status = ?`,
		string(StatusPending)).Scan(&st.Pending, &oldest); err != nil {
		return InboxStats{}, fmt.Errorf("inbox: reading stats: %w", err)
	}
	if err := in.db.QueryRow(ctx, `SELECT COUNT(*) FROM inbox_deliveries WHERE status = ?`,
		string(StatusFailed)).Scan(&st.Failed); err != nil {
		return InboxStats{}, fmt.Errorf("inbox: reading stats: %w", err)
	}
	if oldest.Valid {
		st.OldestPending = inboxTime(oldest.Int64)
	}
	return st, nil
}

// Prune deletes deliveries that finished successfully before before; the
// delivery IDs of recent ones are kept so redeliveries are still recognised.
func (in *Inbox) Prune(ctx context.Context, before time.Time) (int64, error) {
	defer in.lockWrites()()
	res, err := in.db.Exec(ctx, `DELETE FROM inbox_deliveries WHERE status = ? AND finished_at < ?`, string(StatusDone), inboxMS(before))
	if err != nil {
		return 0, fmt.Errorf("inbox: pruning: %w", err)
	}
	return res.RowsAffected()
}

func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	s = s[:maxErrorLen]
	// Do not cut a UTF-8 sequence in half: PostgreSQL rejects invalid text.
	return strings.ToValidUTF8(s, "") + "…"
}
