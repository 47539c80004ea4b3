package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parcelflow/conveyor/store"
)

// DefaultHealthWindow is the window delivery health is computed over.
const DefaultHealthWindow = 30 * 24 * time.Hour

// History reads the deployment records of repo ("" for every repository)
// that delivery health over a window starting at since needs.
type History func(ctx context.Context, repo string, since time.Time) ([]DeployRecord, error)

// StoreHistory reads deployment records from Conveyor's state database.
func StoreHistory(db *store.DB) History {
	return func(ctx context.Context, repo string, since time.Time) ([]DeployRecord, error) {
		hs, err := db.DeploymentHistory(ctx, store.HistoryQuery{Repo: repo, Since: since, Open: openStates, Succeeded: stateSucceeded})
		if err != nil {
			return nil, err
		}
		out := make([]DeployRecord, 0, len(hs))
		for _, h := range hs {
			// The few fields of the engine's details that health reads
			// (deploy.Details; a test keeps the names equal).
			var det struct {
				SHA               string    `json:"sha"`
				CommittedAt       time.Time `json:"committed_at"`
				RolledBackRelease string    `json:"rolled_back_release"`
			}
			if len(h.Details) > 0 {
				if err := json.Unmarshal(h.Details, &det); err != nil {
					return nil, fmt.Errorf("observe: reading details of deployment %s: %w", h.ID, err)
				}
			}
			sha := det.SHA
			if sha == "" {
				sha = h.ReleaseSHA
			}
			out = append(out, DeployRecord{
				ID: h.ID, Repo: h.Repo, Env: h.Env, Kind: h.Kind, State: h.State, Release: h.ReleaseID,
				SHA: sha, ReleaseSHA: h.ReleaseSHA, RolledBackRelease: det.RolledBackRelease,
				ReleaseCreatedAt: h.ReleaseCreatedAt, CreatedAt: h.CreatedAt, FinishedAt: h.FinishedAt, CommittedAt: det.CommittedAt,
			})
		}
		return out, nil
	}
}

// ReadHealth computes the delivery health of repo ("" for every
// repository) over the window ending at now.
func ReadHealth(ctx context.Context, h History, repo string, now time.Time, window time.Duration) ([]EnvHealth, error) {
	if window <= 0 {
		window = DefaultHealthWindow
	}
	records, err := h(ctx, repo, now.Add(-window))
	if err != nil {
		return nil, fmt.Errorf("observe: reading deployment history: %w", err)
	}
	return ComputeHealth(records, now, window), nil
}
