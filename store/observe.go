package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// HistoryQuery selects the deployment history that delivery metrics are
// computed from.
type HistoryQuery struct {
	// Repo limits the history to one repository ("owner/name"); empty
	// reads every repository.
	Repo string
	// Since keeps the deployments created at or after it. Older ones are
	// kept only when they still say something about the present: those in
	// one of the Open states, each environment's newest deployment, and
	// every deployment of an environment from its last one in the
	// Succeeded state before Since.
	Since time.Time
	// Open are the states of a deployment still in flight.
	Open []string
	// Succeeded is the state of a deployment that succeeded.
	Succeeded string
}

// HistoricDeployment is a deployment with the commit and creation time of
// its release.
type HistoricDeployment struct {
	Deployment
	ReleaseSHA       string
	ReleaseCreatedAt time.Time
}

// DeploymentHistory lists the deployments q selects, oldest first. It
// only reads.
func (db *DB) DeploymentHistory(ctx context.Context, q HistoryQuery) ([]HistoricDeployment, error) {
	// Per environment: everything from its last success before Since (so a
	// failure that started before the window and what ran at its start are
	// known), else from Since; and its newest deployment, however old.
	where := `(d.created_at >= COALESCE((SELECT MAX(x.created_at) FROM deployments x
		WHERE x.repo = d.repo AND x.env = d.env AND x.state = ? AND x.created_at < ?), ?)
	OR d.created_at = (SELECT MAX(x.created_at) FROM deployments x WHERE x.repo = d.repo AND x.env = d.env)`
	args := []any{q.Succeeded, depMS(q.Since), depMS(q.Since)}
	if len(q.Open) > 0 {
		where += ` OR d.state IN (?` + repeat(", ?", len(q.Open)-1) + `)`
		args = append(args, strArgs(q.Open)...)
	}
	where += `)`
	if q.Repo != "" {
		where += ` AND d.repo = ?`
		args = append(args, q.Repo)
	}
	rows, err := db.Query(ctx, `SELECT d.`+strings.ReplaceAll(deploymentCols, ", ", ", d.")+`,
	COALESCE(r.sha, ''), COALESCE(r.created_at, 0)
FROM deployments d LEFT JOIN releases r ON r.id = d.release_id
WHERE `+where+`
ORDER BY d.created_at, d.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: reading deployment history: %w", err)
	}
	defer rows.Close()
	var out []HistoricDeployment
	for rows.Next() {
		var h HistoricDeployment
		var relCreated int64
		d, err := scanDeployment(rows, &h.ReleaseSHA, &relCreated)
		if err != nil {
			return nil, fmt.Errorf("store: reading deployment history: %w", err)
		}
		h.Deployment, h.ReleaseCreatedAt = d, depTime(relCreated)
		out = append(out, h)
	}
	return out, rows.Err()
}
