package observe

import (
	"testing"
	"time"

	"github.com/parcelflow/conveyor/deploy"
)

// The states and kinds observe reads must be the ones the engine writes.
func TestStatesMatchTheDeployEngine(t *testing.T) {
	pairs := [][2]string{
		{stateSucceeded, deploy.StateSucceeded}, {stateFailed, deploy.StateFailed}, {stateRolledBack, deploy.StateRolledBack},
		{kindDeploy, deploy.KindDeploy}, {kindRollback, deploy.KindRollback},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("observe reads %q where the engine writes %q", p[0], p[1])
		}
	}
	for _, s := range openStates {
		if deploy.Terminal(s) || terminal(s) {
			t.Errorf("%s is listed as open but is terminal", s)
		}
	}
	for _, s := range []string{deploy.StateQueued, deploy.StateLocked, deploy.StateRestorePoint, deploy.StateApplying, deploy.StateVerifying, deploy.StateRollingBack} {
		found := false
		for _, o := range openStates {
			found = found || o == s
		}
		if !found {
			t.Errorf("the engine's in-flight state %s is not in openStates", s)
		}
	}
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func hr(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }

// dep is a finished deployment of release rel to prod, created an hour
// before it finished, built from commit "c-<rel>" at built.
func dep(id, rel, state string, built, end float64) DeployRecord {
	return DeployRecord{ID: id, Repo: "o/data", Env: "prod", Kind: kindDeploy, State: state, Release: rel,
		SHA: "c-" + rel, ReleaseSHA: "c-" + rel, ReleaseCreatedAt: hr(built), CreatedAt: hr(end - 1), FinishedAt: hr(end)}
}

func rollback(id, to, off string, end float64) DeployRecord {
	return DeployRecord{ID: id, Repo: "o/data", Env: "prod", Kind: kindRollback, State: stateSucceeded, Release: to,
		SHA: "c-" + to, ReleaseSHA: "c-" + to, RolledBackRelease: off, CreatedAt: hr(end - 0.5), FinishedAt: hr(end)}
}

func TestComputeHealth(t *testing.T) {
	now := hr(30 * 24) // a 30-day window ends here and starts at t0
	window := 30 * 24 * time.Hour
	type want struct {
		deploys, changes, failures, restores, rollbacks int
		cfr                                             float64 // -1: none
		lead, ttr                                       time.Duration
		basis                                           string
		state                                           string
		failingSince                                    time.Time
		lastSuccess, inFlight                           string
		healthy                                         bool
	}
	tests := []struct {
		name    string
		records []DeployRecord
		want    want
	}{
		{
			name: "steady deploys",
			records: []DeployRecord{
				dep("d1", "r1", stateSucceeded, 10, 11),
				dep("d2", "r2", stateSucceeded, 20, 23),
				dep("d3", "r3", stateSucceeded, 30, 32),
			},
			want: want{deploys: 3, changes: 3, cfr: 0, lead: 2 * time.Hour, basis: BasisRelease, state: stateSucceeded, lastSuccess: "d3", healthy: true},
		},
		{
			name: "a deploy rolled back by itself, restored by the next one",
			records: []DeployRecord{
				dep("d1", "r1", stateSucceeded, 10, 11),
				dep("d2", "r2", stateRolledBack, 20, 21),
				dep("d3", "r3", stateSucceeded, 25, 26),
			},
			want: want{deploys: 2, changes: 3, failures: 1, cfr: 1.0 / 3, restores: 1, ttr: 5 * time.Hour, lead: time.Hour, basis: BasisRelease,
				state: stateSucceeded, lastSuccess: "d3", healthy: true},
		},
		{
			name: "a bad deploy taken off by /rollback",
			records: []DeployRecord{
				dep("d1", "r1", stateSucceeded, 10, 11),
				dep("d2", "r2", stateSucceeded, 20, 22),
				rollback("rb", "r1", "r2", 24.5),
			},
			want: want{deploys: 2, changes: 2, failures: 1, cfr: 0.5, restores: 1, rollbacks: 1, ttr: 150 * time.Minute, lead: time.Hour, basis: BasisRelease,
				state: stateSucceeded, lastSuccess: "rb", healthy: true},
		},
		{
			name: "failures in a row are one outage, still open",
			records: []DeployRecord{
				dep("d1", "r1", stateSucceeded, 10, 11),
				dep("d2", "r2", stateFailed, 20, 21),
				dep("d3", "r3", stateRolledBack, 22, 23),
				{ID: "d4", Repo: "o/data", Env: "prod", Kind: kindDeploy, State: "applying", Release: "r4", CreatedAt: hr(40)},
			},
			want: want{deploys: 1, changes: 3, failures: 2, cfr: 2.0 / 3, lead: time.Hour, basis: BasisRelease,
				state: stateRolledBack, failingSince: hr(21), lastSuccess: "d1", inFlight: "d4"},
		},
		{
			name: "a failure before the window restored in it counts only the restore",
			records: []DeployRecord{
				dep("d0", "r0", stateSucceeded, -50, -48),
				dep("d1", "r1", stateFailed, -11, -10),
				dep("d2", "r2", stateSucceeded, 4, 6),
			},
			want: want{deploys: 1, changes: 1, cfr: 0, restores: 1, ttr: 16 * time.Hour, lead: 2 * time.Hour, basis: BasisRelease,
				state: stateSucceeded, lastSuccess: "d2", healthy: true},
		},
		{
			name: "commit times, when recorded, start the clock",
			records: []DeployRecord{
				func() DeployRecord { r := dep("d1", "r1", stateSucceeded, 10, 12); r.CommittedAt = hr(2); return r }(),
				func() DeployRecord { r := dep("d2", "r2", stateSucceeded, 10, 20); r.CommittedAt = hr(14); return r }(),
			},
			want: want{deploys: 2, changes: 2, cfr: 0, lead: 6 * time.Hour, basis: BasisCommit, state: stateSucceeded, lastSuccess: "d2", healthy: true},
		},
		{
			name: "a revert reusing an older release starts when its commit first deployed",
			records: []DeployRecord{
				// r1 was built at hour 1; commit c-revert ships the same
				// bytes and first deploys (to dev) at hour 100.
				dep("d1", "r1", stateSucceeded, 1, 2),
				{ID: "dev1", Repo: "o/data", Env: "dev", Kind: kindDeploy, State: stateSucceeded, Release: "r1", SHA: "c-revert", ReleaseSHA: "c-r1",
					ReleaseCreatedAt: hr(1), CreatedAt: hr(100), FinishedAt: hr(101)},
				{ID: "d2", Repo: "o/data", Env: "prod", Kind: kindDeploy, State: stateSucceeded, Release: "r1", SHA: "c-revert", ReleaseSHA: "c-r1",
					ReleaseCreatedAt: hr(1), CreatedAt: hr(102), FinishedAt: hr(104)},
			},
			// prod lead times: d1 1h, d2 4h (from hour 100, not 103h from hour 1): lower median 1h.
			want: want{deploys: 2, changes: 2, cfr: 0, lead: time.Hour, basis: BasisRelease, state: stateSucceeded, lastSuccess: "d2", healthy: true},
		},
		{
			name: "deployments before the window count in no number",
			records: []DeployRecord{
				dep("old1", "r1", stateSucceeded, -100, -90),
				dep("old2", "r2", stateRolledBack, -80, -70),
			},
			want: want{cfr: -1, state: stateRolledBack, failingSince: hr(-70), lastSuccess: "old1"},
		},
		{
			name:    "nothing finished yet",
			records: []DeployRecord{{ID: "q", Repo: "o/data", Env: "prod", Kind: kindDeploy, State: "queued", Release: "r1", CreatedAt: hr(5)}},
			want:    want{cfr: -1, inFlight: "q"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prod *EnvHealth
			hs := ComputeHealth(tc.records, now, window)
			for i := range hs {
				if hs[i].Repo == "o/data" && hs[i].Env == "prod" {
					prod = &hs[i]
				}
			}
			if prod == nil {
				t.Fatalf("no health for o/data prod in %+v", hs)
			}
			h, w := *prod, tc.want
			if h.Deploys != w.deploys || h.Changes != w.changes || h.Failures != w.failures || h.Restores != w.restores || h.Rollbacks != w.rollbacks {
				t.Errorf("deploys/changes/failures/restores/rollbacks = %d/%d/%d/%d/%d, want %d/%d/%d/%d/%d",
					h.Deploys, h.Changes, h.Failures, h.Restores, h.Rollbacks, w.deploys, w.changes, w.failures, w.restores, w.rollbacks)
			}
			if wantPerDay := float64(w.deploys) / 30; h.DeploysPerDay != wantPerDay {
				t.Errorf("deploys per day = %v, want %v", h.DeploysPerDay, wantPerDay)
			}
			switch {
			case w.cfr < 0 && h.ChangeFailureRate != nil:
				t.Errorf("change failure rate = %v, want none", *h.ChangeFailureRate)
			case w.cfr >= 0 && (h.ChangeFailureRate == nil || *h.ChangeFailureRate != w.cfr):
				t.Errorf("change failure rate = %v, want %v", h.ChangeFailureRate, w.cfr)
			}
			if h.LeadTime != w.lead || h.LeadTimeBasis != w.basis || h.TimeToRestore != w.ttr {
				t.Errorf("lead %v (%s), restore %v; want lead %v (%s), restore %v", h.LeadTime, h.LeadTimeBasis, h.TimeToRestore, w.lead, w.basis, w.ttr)
			}
			if h.State != w.state || !h.FailingSince.Equal(w.failingSince) || h.Healthy() != w.healthy {
				t.Errorf("state %q failing since %v healthy %v; want %q, %v, %v", h.State, h.FailingSince, h.Healthy(), w.state, w.failingSince, w.healthy)
			}
			if got := refID(h.LastSuccess); got != w.lastSuccess {
				t.Errorf("last success = %q, want %q", got, w.lastSuccess)
			}
			if got := refID(h.InFlight); got != w.inFlight {
				t.Errorf("in flight = %q, want %q", got, w.inFlight)
			}
		})
	}
}

func refID(r *DeployRef) string {
	if r == nil {
		return ""
	}
	return r.ID
}

func TestComputeHealthKeepsRepositoriesAndEnvironmentsApart(t *testing.T) {
	mk := func(repo, env, id, state string, end float64) DeployRecord {
		return DeployRecord{ID: id, Repo: repo, Env: env, Kind: kindDeploy, State: state, Release: id, CreatedAt: hr(end - 1), FinishedAt: hr(end)}
	}
	hs := ComputeHealth([]DeployRecord{
		mk("o/b", "prod", "b1", stateFailed, 5),
		mk("o/a", "prod", "a1", stateSucceeded, 3),
		mk("o/a", "dev", "a2", stateSucceeded, 2),
		mk("o/a", "dev", "a3", stateFailed, 4),
	}, hr(24), 24*time.Hour)
	var got []string
	for _, h := range hs {
		got = append(got, h.Repo+"/"+h.Env+":"+h.State)
	}
	want := []string{"o/a/dev:failed", "o/a/prod:succeeded", "o/b/prod:failed"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if hs[0].Changes != 2 || hs[0].Failures != 1 || hs[1].Failures != 0 || hs[2].Failures != 1 {
		t.Fatalf("changes and failures mixed between environments: %+v", hs)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 3, 2}, 2},
	}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
