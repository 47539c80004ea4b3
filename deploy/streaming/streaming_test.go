package streaming

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const topic = "shipments.events"

// newCluster starts an in-process Kafka cluster with three partitions of
// topic, ten records in each, and the group committed at offset 4 on each.
func newCluster(t *testing.T) (*kadm.Client, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx := context.Background()
	for p := int32(0); p < 3; p++ {
		for i := 0; i < 10; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte("event")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	adm := kadm.NewClient(cl)
	commit(t, adm, map[int32]int64{0: 4, 1: 4, 2: 4})
	return adm, cl
}

func commit(t *testing.T, adm *kadm.Client, at map[int32]int64) {
	t.Helper()
	os := kadm.Offsets{}
	for p, o := range at {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(context.Background(), "shipments-loader", os)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointAndCompare(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		after func(t *testing.T, adm *kadm.Client)
		want  []string
	}{
		{"the new consumer moved on", func(t *testing.T, adm *kadm.Client) { commit(t, adm, map[int32]int64{0: 10, 1: 7, 2: 4}) }, nil},
		{"a partition went back", func(t *testing.T, adm *kadm.Client) { commit(t, adm, map[int32]int64{0: 10, 1: 1, 2: 4}) },
			[]string{"rewound shipments.events[1] 4→1"}},
		{"the group lost its commits", func(t *testing.T, adm *kadm.Client) {
			if _, err := adm.DeleteGroup(ctx, "shipments-loader"); err != nil {
				t.Fatal(err)
			}
		}, []string{"lost-commit shipments.events[0] 4→-1", "lost-commit shipments.events[1] 4→-1", "lost-commit shipments.events[2] 4→-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			adm, _ := newCluster(t)
			cp, err := Take(ctx, adm, "shipments-loader", []string{topic}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := cp.Lag(); got != 18 {
				t.Fatalf("lag = %d, want 18 (6 records on each of 3 partitions)", got)
			}
			if cp.End[topic][2] != 10 || cp.Committed[topic][2] != 4 {
				t.Fatalf("checkpoint = %+v", cp)
			}
			tc.after(t, adm)
			fs, err := Compare(ctx, adm, cp)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%s %s[%d] %d→%d", f.Kind, f.Topic, f.Partition, f.Before, f.After))
				if f.String() == "" {
					t.Error("a finding says nothing")
				}
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Fatalf("findings = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTakeRefusesWhatItCannotCheck(t *testing.T) {
	adm, _ := newCluster(t)
	ctx := context.Background()
	if _, err := Take(ctx, adm, "shipments-loader", []string{"no.such.topic"}, time.Now()); err == nil || !strings.Contains(err.Error(), "no.such.topic") {
		t.Fatalf("a missing topic: err = %v", err)
	}
	if _, err := Take(ctx, adm, "", []string{topic}, time.Now()); err == nil {
		t.Fatal("a checkpoint without a group was taken")
	}
	// A group that never committed has nothing to lose: it checkpoints
	// empty and compares clean.
	cp, err := Take(ctx, adm, "new-consumer", []string{topic}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if fs, err := Compare(ctx, adm, cp); err != nil || len(fs) != 0 || len(cp.Committed) != 0 {
		t.Fatalf("a new group: committed %v, findings %v, err %v", cp.Committed, fs, err)
	}
}
