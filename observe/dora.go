package observe

import (
	"encoding/json"
	"sort"
	"time"
)

// Deployment states and kinds as the deploy engine records them (the
// deploy.State* and deploy.Kind* constants; a test keeps them equal).
const (
	stateSucceeded  = "succeeded"
	stateFailed     = "failed"
	stateRolledBack = "rolled_back"
	kindDeploy      = "deploy"
	kindRollback    = "rollback"
)

var openStates = []string{"queued", "locked", "restore_point", "applying", "verifying", "rolling_back"}

func terminal(state string) bool {
	return state == stateSucceeded || state == stateFailed || state == stateRolledBack
}

// Lead time bases: where a change's clock starts.
const (
	// BasisCommit: the commit time recorded with the deployment.
	BasisCommit = "commit"
	// BasisRelease: the release was built (on merge), since no commit time
	// is recorded; the time from commit to merge is not in the number.
	BasisRelease = "release_created"
)

// DeployRecord is one deployment as delivery health needs it.
type DeployRecord struct {
	ID      string
	Repo    string
	Env     string
	Kind    string // deploy | rollback
	State   string
	Release string
	// SHA is the commit the deployment shipped; ReleaseSHA the one its
	// release was first built from (a revert can reuse a release).
	SHA        string
	ReleaseSHA string
	// RolledBackRelease is, for a rollback, the release it took off.
	RolledBackRelease string
	// CommittedAt is the commit's time, when recorded.
	CommittedAt      time.Time
	ReleaseCreatedAt time.Time
	CreatedAt        time.Time
	FinishedAt       time.Time
}

// DeployRef names one deployment in a health report.
type DeployRef struct {
	ID      string    `json:"id"`
	Release string    `json:"release"`
	SHA     string    `json:"sha,omitempty"`
	Kind    string    `json:"kind"`
	State   string    `json:"state"`
	At      time.Time `json:"at"`
}

// EnvHealth is the delivery health of one environment of one repository
// over a window ending at At.
type EnvHealth struct {
	Repo   string        `json:"repo"`
	Env    string        `json:"env"`
	At     time.Time     `json:"at"`
	Window time.Duration `json:"-"`

	// Deploys are the deployments (not rollbacks) that succeeded in the window.
	Deploys       int     `json:"deploys"`
	DeploysPerDay float64 `json:"deploys_per_day"`
	// Changes are the deployments (not rollbacks) that finished in the
	// window; Failures those of them that failed, were rolled back by
	// themselves, or were later taken off by a rollback.
	Changes  int `json:"changes"`
	Failures int `json:"failures"`
	// ChangeFailureRate is Failures/Changes; nil with no changes.
	ChangeFailureRate *float64 `json:"change_failure_rate"`
	// LeadTime is the median time from a change's start (LeadTimeBasis)
	// to its successful deployment here, over LeadTimeSamples deployments.
	LeadTime        time.Duration `json:"-"`
	LeadTimeSamples int           `json:"lead_time_samples"`
	LeadTimeBasis   string        `json:"lead_time_basis,omitempty"`
	// TimeToRestore is the median time from a failure to the next
	// successful deployment or rollback, over the Restores that ended in
	// the window.
	TimeToRestore time.Duration `json:"-"`
	Restores      int           `json:"restores"`
	Rollbacks     int           `json:"rollbacks"`
	// FailingSince is when the failure not yet restored began (zero when none).
	FailingSince time.Time `json:"failing_since,omitzero"`

	// State is the newest finished deployment's state ("" when none).
	State       string     `json:"state"`
	LastSuccess *DeployRef `json:"last_success,omitempty"`
	InFlight    *DeployRef `json:"in_flight,omitempty"`
}

// MarshalJSON writes the durations in seconds, with whether the
// environment is healthy.
func (h EnvHealth) MarshalJSON() ([]byte, error) {
	type plain EnvHealth
	return json.Marshal(struct {
		plain
		WindowSeconds        float64 `json:"window_seconds"`
		LeadTimeSeconds      float64 `json:"lead_time_seconds"`
		TimeToRestoreSeconds float64 `json:"time_to_restore_seconds"`
		Healthy              bool    `json:"healthy"`
	}{plain(h), h.Window.Seconds(), h.LeadTime.Seconds(), h.TimeToRestore.Seconds(), h.Healthy()})
}

// Healthy reports whether the environment's newest finished deployment
// succeeded and no failure waits to be restored.
func (h EnvHealth) Healthy() bool { return h.State == stateSucceeded && h.FailingSince.IsZero() }

// ComputeHealth computes the delivery health of every (repository,
// environment) in records over the window that ends at now, sorted by
// repository and environment. Records before the window are used for what
// ran and what failed when it began; they count in no number.
func ComputeHealth(records []DeployRecord, now time.Time, window time.Duration) []EnvHealth {
	type key struct{ repo, env string }
	byEnv := map[key][]DeployRecord{}
	for _, r := range records {
		k := key{r.Repo, r.Env}
		byEnv[k] = append(byEnv[k], r)
	}
	firstOfSHA := firstDeployOfSHA(records)
	out := make([]EnvHealth, 0, len(byEnv))
	for k, rs := range byEnv {
		out = append(out, envHealth(k.repo, k.env, rs, firstOfSHA, now, window))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Env < out[j].Env
	})
	return out
}

type shaKey struct{ repo, sha string }

// firstDeployOfSHA is when each commit of each repository first started a
// deployment: the start of its clock when it reuses an older release.
func firstDeployOfSHA(records []DeployRecord) map[shaKey]time.Time {
	out := map[shaKey]time.Time{}
	for _, r := range records {
		if r.SHA == "" {
			continue
		}
		k := shaKey{r.Repo, r.SHA}
		if t, ok := out[k]; !ok || r.CreatedAt.Before(t) {
			out[k] = r.CreatedAt
		}
	}
	return out
}

func envHealth(repo, env string, rs []DeployRecord, firstOfSHA map[shaKey]time.Time, now time.Time, window time.Duration) EnvHealth {
	h := EnvHealth{Repo: repo, Env: env, At: now, Window: window}
	from := now.Add(-window)
	inWindow := func(t time.Time) bool { return !t.Before(from) && !t.After(now) }

	// In flight: the newest deployment that has not finished.
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].CreatedAt.Before(rs[j].CreatedAt) })
	for i := len(rs) - 1; i >= 0; i-- {
		if !terminal(rs[i].State) {
			h.InFlight = ref(rs[i], rs[i].CreatedAt)
			break
		}
	}

	// Walk the finished deployments in the order they finished.
	var done []DeployRecord
	for _, r := range rs {
		if terminal(r.State) {
			done = append(done, r)
		}
	}
	sort.SliceStable(done, func(i, j int) bool { return finished(done[i]).Before(finished(done[j])) })

	var leads, restores []time.Duration
	var live *DeployRecord // the successful deployment the environment runs
	var failingSince time.Time
	for i := range done {
		r := &done[i]
		end := finished(*r)
		change := r.Kind != kindRollback
		if change && inWindow(end) {
			h.Changes++
		}
		switch r.State {
		case stateSucceeded:
			if r.Kind == kindRollback {
				if inWindow(end) {
					h.Rollbacks++
				}
				// A rollback that takes off the release the last successful
				// deployment put in place marks that change as failed; the
				// environment was bad from when it went live.
				if live != nil && live.Kind != kindRollback && live.Release == r.RolledBackRelease {
					if inWindow(finished(*live)) {
						h.Failures++
					}
					if failingSince.IsZero() {
						failingSince = finished(*live)
					}
				}
			} else if inWindow(end) {
				h.Deploys++
				if start, basis, ok := changeStart(*r, firstOfSHA); ok && !end.Before(start) {
					leads = append(leads, end.Sub(start))
					if h.LeadTimeBasis == "" || basis == BasisRelease {
						h.LeadTimeBasis = basis
					}
				}
			}
			if !failingSince.IsZero() {
				if inWindow(end) {
					restores = append(restores, end.Sub(failingSince))
				}
				failingSince = time.Time{}
			}
			live = r
		case stateFailed, stateRolledBack:
			if change {
				if inWindow(end) {
					h.Failures++
				}
				if failingSince.IsZero() {
					failingSince = end
				}
			} else if failingSince.IsZero() {
				// A rollback that did not finish leaves the environment in
				// doubt: it is failing until a deployment succeeds.
				failingSince = end
			}
		}
		h.State = r.State
	}
	if live != nil {
		h.LastSuccess = ref(*live, finished(*live))
	}
	h.FailingSince = failingSince
	if window > 0 {
		h.DeploysPerDay = float64(h.Deploys) / (window.Hours() / 24)
	}
	if h.Changes > 0 {
		rate := float64(h.Failures) / float64(h.Changes)
		h.ChangeFailureRate = &rate
	}
	h.LeadTime, h.LeadTimeSamples = median(leads), len(leads)
	h.TimeToRestore, h.Restores = median(restores), len(restores)
	return h
}

// changeStart is when the change a deployment ships started: its commit
// time when recorded, else its release's creation, else (a later commit
// reusing an older release) when that commit first started a deployment.
func changeStart(r DeployRecord, firstOfSHA map[shaKey]time.Time) (time.Time, string, bool) {
	if !r.CommittedAt.IsZero() {
		return r.CommittedAt, BasisCommit, true
	}
	if r.SHA != "" && r.ReleaseSHA != "" && r.SHA != r.ReleaseSHA {
		if t, ok := firstOfSHA[shaKey{r.Repo, r.SHA}]; ok {
			return t, BasisRelease, true
		}
	}
	if !r.ReleaseCreatedAt.IsZero() {
		return r.ReleaseCreatedAt, BasisRelease, true
	}
	return time.Time{}, "", false
}

// finished is when a finished deployment ended; records written before
// finish times were kept fall back to their creation.
func finished(r DeployRecord) time.Time {
	if r.FinishedAt.IsZero() {
		return r.CreatedAt
	}
	return r.FinishedAt
}

func ref(r DeployRecord, at time.Time) *DeployRef {
	return &DeployRef{ID: r.ID, Release: r.Release, SHA: r.SHA, Kind: r.Kind, State: r.State, At: at}
}

// median of ds (0 when empty); the lower middle of an even count, so it is
// always one observed value.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}
