package airflow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/mwaa"
	"github.com/aws/aws-sdk-go-v2/service/mwaa/document"
	mwaatypes "github.com/aws/aws-sdk-go-v2/service/mwaa/types"
)

// RestAPIs calls the Airflow REST API of an MWAA environment through MWAA's
// InvokeRestApi (narrowed from *mwaa.Client for tests).
type RestAPIs interface {
	InvokeRestApi(ctx context.Context, in *mwaa.InvokeRestApiInput, opts ...func(*mwaa.Options)) (*mwaa.InvokeRestApiOutput, error)
}

// FailedRun is a DAG run that failed, with the tasks that failed in it.
type FailedRun struct {
	DagID       string    `json:"dag_id"`
	RunID       string    `json:"run_id"`
	LogicalDate time.Time `json:"logical_date"`
	StartDate   time.Time `json:"start_date"`
	EndDate     time.Time `json:"end_date,omitzero"`
	Tasks       []string  `json:"failed_tasks"`
}

// maxFailedRuns bounds the runs read, and the runs whose tasks are read.
const maxFailedRuns = 100

// FailedRuns lists the DAG runs of every DAG in env that failed since
// since, newest first, each with its failed tasks: the task failures the
// on-call person looks at first.
func FailedRuns(ctx context.Context, api RestAPIs, env string, since time.Time) ([]FailedRun, error) {
	var runs struct {
		DagRuns []struct {
			DagID       string    `json:"dag_id"`
			RunID       string    `json:"dag_run_id"`
			LogicalDate time.Time `json:"logical_date"`
			StartDate   time.Time `json:"start_date"`
			EndDate     time.Time `json:"end_date"`
		} `json:"dag_runs"`
	}
	// "~" is every DAG; the list endpoint filters by state and start date.
	if err := invoke(ctx, api, env, "/dags/~/dagRuns", map[string]any{
		"state": []string{"failed"}, "start_date_gte": since.UTC().Format(time.RFC3339), "order_by": "-start_date", "limit": maxFailedRuns,
	}, &runs); err != nil {
		return nil, err
	}
	out := make([]FailedRun, 0, len(runs.DagRuns))
	for _, r := range runs.DagRuns {
		fr := FailedRun{DagID: r.DagID, RunID: r.RunID, LogicalDate: r.LogicalDate, StartDate: r.StartDate, EndDate: r.EndDate, Tasks: []string{}}
		var tis struct {
			TaskInstances []struct {
				TaskID string `json:"task_id"`
			} `json:"task_instances"`
		}
		path := "/dags/" + url.PathEscape(r.DagID) + "/dagRuns/" + url.PathEscape(r.RunID) + "/taskInstances"
		if err := invoke(ctx, api, env, path, map[string]any{"state": []string{"failed", "upstream_failed"}}, &tis); err != nil {
			return nil, err
		}
		for _, ti := range tis.TaskInstances {
			fr.Tasks = append(fr.Tasks, ti.TaskID)
		}
		sort.Strings(fr.Tasks)
		out = append(out, fr)
	}
	return out, nil
}

// invoke GETs path with query from env's Airflow REST API into v.
func invoke(ctx context.Context, api RestAPIs, env, path string, query map[string]any, v any) error {
	out, err := api.InvokeRestApi(ctx, &mwaa.InvokeRestApiInput{Name: aws.String(env), Method: mwaatypes.RestApiMethodGet,
		Path: aws.String(path), QueryParameters: document.NewLazyDocument(query)})
	if err != nil {
		return fmt.Errorf("airflow: GET %s in %s: %w", path, env, err)
	}
	if code := aws.ToInt32(out.RestApiStatusCode); code != 0 && code/100 != 2 {
		return fmt.Errorf("airflow: GET %s in %s: HTTP %d", path, env, code)
	}
	if out.RestApiResponse == nil {
		return fmt.Errorf("airflow: GET %s in %s: empty response", path, env)
	}
	var raw any
	if err := out.RestApiResponse.UnmarshalSmithyDocument(&raw); err != nil {
		return fmt.Errorf("airflow: reading GET %s in %s: %w", path, env, err)
	}
	// Through JSON, so the REST API's field names and RFC 3339 times decode
	// as the API documents them.
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("airflow: reading GET %s in %s: %w", path, env, err)
	}
	return nil
}
