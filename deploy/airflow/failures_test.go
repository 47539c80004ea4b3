package airflow

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestFailedRuns reads failed runs and their failed tasks through MWAA's
// InvokeRestApi, as an MWAA-compatible server answers it.
func TestFailedRuns(t *testing.T) {
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/restapi/parcelflow-prod" || !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			http.Error(w, `{"message":"no"}`, http.StatusBadRequest)
			return
		}
		var in struct {
			Method          string
			Path            string
			QueryParameters map[string]any
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		asked = append(asked, in.Method+" "+in.Path)
		var resp any
		switch in.Path {
		case "/dags/~/dagRuns":
			if in.QueryParameters["start_date_gte"] != "2026-12-01T00:00:00Z" {
				http.Error(w, "bad start_date_gte", http.StatusBadRequest)
				return
			}
			resp = map[string]any{"dag_runs": []any{
				map[string]any{"dag_id": "orders_postgres_to_snowflake", "dag_run_id": "scheduled__2026-12-01T01:30:00+00:00", "state": "failed",
					"logical_date": "2026-12-01T01:30:00+00:00", "start_date": "2026-12-02T01:30:05+00:00", "end_date": "2026-12-02T01:41:00+00:00"},
			}, "total_entries": 1}
		case "/dags/orders_postgres_to_snowflake/dagRuns/scheduled__2026-12-01T01:30:00+00:00/taskInstances":
			resp = map[string]any{"task_instances": []any{map[string]any{"task_id": "merge_orders"}, map[string]any{"task_id": "load_to_stage"}}}
		default:
			http.Error(w, `{"message":"unknown path"}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"RestApiResponse": resp, "RestApiStatusCode": 200})
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	runs, err := FailedRuns(context.Background(), NewMWAAClient(cfg, srv.URL), "parcelflow-prod", since)
	if err != nil {
		t.Fatalf("%v (asked %v)", err, asked)
	}
	if len(runs) != 1 {
		t.Fatalf("runs = %+v", runs)
	}
	r := runs[0]
	if r.DagID != "orders_postgres_to_snowflake" || strings.Join(r.Tasks, ",") != "load_to_stage,merge_orders" || r.StartDate.IsZero() || r.EndDate.Sub(r.StartDate) != 10*time.Minute+55*time.Second {
		t.Fatalf("run = %+v", r)
	}
	if len(asked) != 2 {
		t.Fatalf("calls = %v", asked)
	}
}
