// Package streaming keeps a streaming consumer's deploy from losing or
// repeating records. Before the new consumer is applied, the consumer
// group's committed offsets are checkpointed; after it is applied, they are
// compared with the checkpoint. A committed offset that went back means
// records are consumed, and loaded, twice; a partition that lost its commit
// restarts wherever the consumer's reset policy says — past records it never
// loaded, or back at the start of the log.
package streaming

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Admin is what the checkpoint needs of a Kafka cluster; *kadm.Client
// has it.
type Admin interface {
	FetchOffsets(ctx context.Context, group string) (kadm.OffsetResponses, error)
	ListEndOffsets(ctx context.Context, topics ...string) (kadm.ListedOffsets, error)
}

// Checkpoint is a consumer group's position on its topics at one moment.
type Checkpoint struct {
	Group  string   `json:"group"`
	Topics []string `json:"topics"`
	// Committed is the group's committed offset per topic and partition; a
	// partition the group never committed is absent.
	Committed map[string]map[int32]int64 `json:"committed"`
	// End is each partition's log end offset when the checkpoint was taken.
	End map[string]map[int32]int64 `json:"end"`
	At  time.Time                  `json:"at"`
}

// Lag is how many records of the topics the group had not consumed yet.
func (c *Checkpoint) Lag() int64 {
	var lag int64
	for t, parts := range c.End {
		for p, end := range parts {
			if at, ok := c.Committed[t][p]; ok && end > at {
				lag += end - at
			}
		}
	}
	return lag
}

// Take checkpoints group on topics.
func Take(ctx context.Context, adm Admin, group string, topics []string, now time.Time) (*Checkpoint, error) {
	if group == "" || len(topics) == 0 {
		return nil, fmt.Errorf("streaming: a checkpoint needs the consumer group and its topics")
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("streaming: listing the end offsets of %s: %w", strings.Join(topics, ", "), err)
	}
	cp := &Checkpoint{Group: group, Topics: append([]string(nil), topics...), Committed: map[string]map[int32]int64{}, End: map[string]map[int32]int64{}, At: now.UTC()}
	var missing []string
	for _, t := range topics {
		parts, ok := ends[t]
		if !ok || len(parts) == 0 {
			missing = append(missing, t)
			continue
		}
		cp.End[t] = map[int32]int64{}
		for p, o := range parts {
			if o.Err != nil {
				return nil, fmt.Errorf("streaming: end offset of %s[%d]: %w", t, p, o.Err)
			}
			cp.End[t][p] = o.Offset
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("streaming: topics %s do not exist in the cluster", strings.Join(missing, ", "))
	}
	committed, err := committedOffsets(ctx, adm, group, topics)
	if err != nil {
		return nil, err
	}
	cp.Committed = committed
	return cp, nil
}

func committedOffsets(ctx context.Context, adm Admin, group string, topics []string) (map[string]map[int32]int64, error) {
	resp, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[string]map[int32]int64{}, nil // a group that never committed
	}
	if err != nil {
		return nil, fmt.Errorf("streaming: fetching the offsets of consumer group %s: %w", group, err)
	}
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
	}
	out := map[string]map[int32]int64{}
	var errs []string
	resp.Each(func(o kadm.OffsetResponse) {
		if !want[o.Topic] {
			return
		}
		if o.Err != nil {
			errs = append(errs, fmt.Sprintf("%s[%d]: %v", o.Topic, o.Partition, o.Err))
			return
		}
		if o.At < 0 {
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("streaming: offsets of consumer group %s: %s", group, strings.Join(errs, "; "))
	}
	return out, nil
}

// Finding kinds.
const (
	// Rewound: the committed offset went back, so the records between are
	// consumed again.
	Rewound = "rewound"
	// LostCommit: the group no longer has a commit where it had one; the
	// consumer restarts where its auto.offset.reset says.
	LostCommit = "lost-commit"
)

// Finding is a partition whose consumer would repeat or skip records.
type Finding struct {
	Kind      string `json:"kind"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Before and After are the committed offsets; -1 for none.
	Before int64 `json:"before"`
	After  int64 `json:"after"`
}

func (f Finding) String() string {
	switch f.Kind {
	case Rewound:
		return fmt.Sprintf("%s[%d] went back from offset %d to %d: %d records would be consumed, and loaded, twice", f.Topic, f.Partition, f.Before, f.After, f.Before-f.After)
	default:
		return fmt.Sprintf("%s[%d] lost its commit at offset %d: the consumer restarts where its reset policy says, skipping or repeating records", f.Topic, f.Partition, f.Before)
	}
}

// Compare reads the group's committed offsets now and reports every
// partition that went back or lost its commit since cp. Offsets that moved
// forward, and partitions the group never committed, are fine.
func Compare(ctx context.Context, adm Admin, cp *Checkpoint) ([]Finding, error) {
	now, err := committedOffsets(ctx, adm, cp.Group, cp.Topics)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for t, parts := range cp.Committed {
		for p, before := range parts {
			after, ok := now[t][p]
			switch {
			case !ok:
				out = append(out, Finding{Kind: LostCommit, Topic: t, Partition: p, Before: before, After: -1})
			case after < before:
				out = append(out, Finding{Kind: Rewound, Topic: t, Partition: p, Before: before, After: after})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, nil
}
