package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestDeploymentHistory(t *testing.T) { EachDialect(t, "observehistory", testDeploymentHistory) }

func testDeploymentHistory(t *testing.T, open func(*testing.T) *DB) {
	ctx := context.Background()
	db := open(t)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, r := range []Release{
		{ID: "r1", SHA: "c1", Risk: "low", Manifest: []byte(`{}`), CreatedAt: at(-1)},
		{ID: "r2", SHA: "c2", Risk: "low", Manifest: []byte(`{}`), CreatedAt: at(1)},
	} {
		if err := db.PutRelease(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	since := at(10)
	for _, d := range []Deployment{
		// Before the window, an environment's deployments are read from
		// its last success on; its newest and those in flight always.
		{ID: "a-old-ok", Repo: "o/a", Env: "prod", State: "succeeded", CreatedAt: at(0)},
		{ID: "a-old-ok2", Repo: "o/a", Env: "prod", State: "succeeded", CreatedAt: at(2)},
		{ID: "a-old-bad", Repo: "o/a", Env: "prod", State: "failed", CreatedAt: at(3)},
		{ID: "a-dev-old", Repo: "o/a", Env: "dev", State: "failed", CreatedAt: at(1)},
		{ID: "a-dev-newest", Repo: "o/a", Env: "dev", State: "rolled_back", CreatedAt: at(4)},
		{ID: "a-stuck", Repo: "o/a", Env: "staging", State: "applying", CreatedAt: at(5)},
		{ID: "a-staging-ok", Repo: "o/a", Env: "staging", State: "succeeded", CreatedAt: at(6)},
		// In the window: all of them.
		{ID: "a-new-bad", Repo: "o/a", Env: "prod", State: "failed", CreatedAt: at(11)},
		{ID: "a-new-ok", Repo: "o/a", Env: "prod", State: "succeeded", CreatedAt: at(12)},
		{ID: "b-old", Repo: "o/b", Env: "prod", State: "failed", CreatedAt: at(2)},
		{ID: "b-new", Repo: "o/b", Env: "prod", State: "succeeded", CreatedAt: at(13)},
	} {
		d.ReleaseID, d.Kind, d.Actor, d.UpdatedAt = "r1", "deploy", "alice", d.CreatedAt
		if d.ID == "a-new-ok" {
			d.ReleaseID, d.Details, d.FinishedAt = "r2", []byte(`{"sha":"c2"}`), at(14)
		}
		if err := db.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	q := HistoryQuery{Since: since, Open: []string{"queued", "applying"}, Succeeded: "succeeded"}
	tests := []struct {
		name string
		repo string
		want string
	}{
		{"one repository", "o/a", "a-old-ok2,a-old-bad,a-dev-newest,a-stuck,a-staging-ok,a-new-bad,a-new-ok"},
		{"another", "o/b", "b-new"},
		{"every repository", "", "a-old-ok2,a-old-bad,a-dev-newest,a-stuck,a-staging-ok,a-new-bad,a-new-ok,b-new"},
		{"none", "o/none", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := q
			q.Repo = tc.repo
			hs, err := db.DeploymentHistory(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, h := range hs {
				ids = append(ids, h.ID)
			}
			if got := strings.Join(ids, ","); got != tc.want {
				t.Fatalf("got %s\nwant %s", got, tc.want)
			}
		})
	}
	hs, err := db.DeploymentHistory(ctx, HistoryQuery{Repo: "o/a", Since: at(12), Succeeded: "succeeded"})
	if err != nil {
		t.Fatal(err)
	}
	last := hs[len(hs)-1]
	if last.ID != "a-new-ok" || last.ReleaseSHA != "c2" || !last.ReleaseCreatedAt.Equal(at(1)) || !last.FinishedAt.Equal(at(14)) ||
		string(last.Details) != `{"sha":"c2"}` || last.Actor != "alice" {
		t.Fatalf("newest deployment read as %+v", last)
	}
	for _, h := range hs {
		if h.ID == "a-stuck" {
			t.Fatalf("with no open states, an old deployment in flight is not read: %+v", h)
		}
	}
}
