package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/deploy/release"
)

// consumerStart is the executor the deployment runs the streaming apply
// through: it runs the real command, then stands for the consumer it
// deployed coming up and committing where it starts reading.
type consumerStart struct {
	executor.Local
	start func()
}

func (c *consumerStart) Run(ctx context.Context, cmd executor.Command) (executor.Result, error) {
	res, err := c.Local.Run(ctx, cmd)
	if err == nil && c.start != nil {
		c.start()
	}
	return res, err
}

// TestStreamingDeployKeepsOffsets deploys a streaming consumer to prod,
// whose Kafka is an in-process cluster: a consumer that comes up where the
// old one left off deploys; one that comes up behind it would load records
// twice, and the deployment fails and rolls back.
func TestStreamingDeployKeepsOffsets(t *testing.T) {
	const topic, group = "shipments.events", "shipments-loader"
	tests := []struct {
		name      string
		commitAt  map[int32]int64 // where the new consumer commits
		wantState string
		wantMsg   string
	}{
		{"the consumer resumes where the old one committed", map[int32]int64{0: 4, 1: 9}, StateSucceeded, "consumer group shipments-loader kept its offsets on shipments.events (lag 12 at the checkpoint)"},
		{"the consumer comes up behind", map[int32]int64{0: 4, 1: 0}, StateRolledBack, "shipments.events[1] went back from offset 4 to 0: 4 records would be consumed, and loaded, twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			for p := int32(0); p < 2; p++ {
				for i := 0; i < 10; i++ {
					if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte("scan")}).FirstErr(); err != nil {
						t.Fatal(err)
					}
				}
			}
			adm := kadm.NewClient(cl)
			commit := func(at map[int32]int64) {
				os := kadm.Offsets{}
				for p, o := range at {
					os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
				}
				resp, err := adm.CommitOffsets(ctx, group, os)
				if err == nil {
					err = resp.Error()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			commit(map[int32]int64{0: 4, 1: 4})

			h := newHarness(t, 2)
			yml := strings.Replace(testRepoConfig, "environments:", `  - name: shipments-consumer
    kind: streaming
    owner: data-eng
    paths: ["streaming/**"]
    commands: {apply: "test -f streaming/consumer.py"}
    streaming: {consumer_group: `+group+`, topics: [`+topic+`]}
environments:`, 1)
			yml = strings.Replace(yml, "airflow: {mwaa_environment: parcelflow-prod, bucket: parcelflow-mwaa-prod}",
				"airflow: {mwaa_environment: parcelflow-prod, bucket: parcelflow-mwaa-prod}\n    kafka: {brokers: ["+cluster.ListenAddrs()[0]+"]}", 1)
			if h.cfg, err = config.ParseRepo(".conveyor.yml", []byte(yml)); err != nil {
				t.Fatal(err)
			}
			h.opener.Executor = func(*config.Environment, aws.Config) executor.Executor {
				return &consumerStart{start: func() { commit(tc.commitAt) }}
			}
			e := h.engine("a", time.Minute)
			good := h.build(e, version{gen: 1}, "low", 1)
			if _, err := e.Deploy(ctx, Request{ReleaseID: good.ID, Env: "prod", Actor: "carol", Reason: "merge"}); err != nil {
				t.Fatal(err)
			}

			files := h.tree(version{gen: 2})
			files["streaming/consumer.py"] = "# reads shipments.events into RAW.SHIPMENTS\n"
			tree := mapTree{}
			for k, c := range files {
				tree[k] = []byte(c)
			}
			sha := h.repo.Commit("main", files, "the consumer", "alice")
			rel, err := release.Build(tree, h.cfg, release.Meta{SHA: sha, PR: 2, Risk: "high"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := release.Publish(ctx, h.arts, rel, tree); err != nil {
				t.Fatal(err)
			}
			if err := e.Register(ctx, rel); err != nil {
				t.Fatal(err)
			}
			d, _ := e.Deploy(ctx, Request{ReleaseID: rel.ID, Env: "prod", Actor: "carol", Reason: "promote"})
			if d == nil {
				t.Fatal("no deployment")
			}
			if d.State != tc.wantState {
				t.Fatalf("state = %s (%s), want %s", d.State, d.Error, tc.wantState)
			}
			var said []string
			for _, s := range d.Details.Steps {
				said = append(said, s.Name+": "+s.Message)
			}
			if got := strings.Join(said, "\n") + "\n" + d.Error; !strings.Contains(got, tc.wantMsg) {
				t.Fatalf("the deployment does not say %q:\n%s", tc.wantMsg, got)
			}
			cp := d.Details.Streaming["shipments-consumer"]
			if cp == nil || cp.Committed[topic][1] != 4 || cp.End[topic][1] != 10 {
				t.Fatalf("checkpoint = %+v", cp)
			}
		})
	}
}
