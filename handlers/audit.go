package handlers

import (
	"context"
	"fmt"

	"github.com/parcelflow/conveyor/policy"
)

// audit appends ev to the hash-chained audit log; a server without one
// records nothing. An append that fails is returned, so the delivery is
// retried rather than a decision going unrecorded.
func (b *Base) audit(ctx context.Context, ev policy.Event) error {
	if b.deps.Audit == nil {
		return nil
	}
	if ev.Time.IsZero() {
		ev.Time = b.now()
	}
	if _, err := b.deps.Audit.Append(ctx, ev); err != nil {
		return fmt.Errorf("recording %s by %s in the audit log: %w", ev.Action, ev.Actor, err)
	}
	return nil
}
