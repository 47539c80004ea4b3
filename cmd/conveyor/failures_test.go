package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunFailures asks an MWAA-compatible server for prod's failed runs,
// with the caller's own AWS credentials, and prints them.
func TestRunFailures(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDONCALL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	failed := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/restapi/parcelflow-prod" || !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDONCALL/") {
			http.Error(w, `{"message":"denied"}`, http.StatusForbidden)
			return
		}
		var in struct{ Path string }
		json.NewDecoder(r.Body).Decode(&in)
		resp := map[string]any{"dag_runs": []any{}}
		switch {
		case in.Path == "/dags/~/dagRuns" && failed:
			resp = map[string]any{"dag_runs": []any{map[string]any{"dag_id": "kafka_s3_compaction", "dag_run_id": "scheduled__2026-12-02T03:00:00+00:00",
				"logical_date": "2026-12-02T03:00:00+00:00", "start_date": "2026-12-02T04:00:02+00:00", "end_date": "2026-12-02T04:20:00+00:00"}}}
		case strings.HasSuffix(in.Path, "/taskInstances"):
			resp = map[string]any{"task_instances": []any{map[string]any{"task_id": "compact_partition"}}}
		}
		json.NewEncoder(w).Encode(map[string]any{"RestApiResponse": resp, "RestApiStatusCode": 200})
	}))
	defer srv.Close()
	sample := filepath.Join("..", "..", "testdata", "sample-repo")

	var out, errb bytes.Buffer
	if code := runFailures(context.Background(), []string{"--repo", sample, "--env", "prod", "--mwaa-endpoint", srv.URL}, &out, &errb); code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errb.String())
	}
	if !strings.Contains(out.String(), "kafka_s3_compaction") || !strings.Contains(out.String(), "failed tasks: compact_partition") {
		t.Fatalf("output:\n%s", out.String())
	}
	failed = false
	out.Reset()
	if code := runFailures(context.Background(), []string{"--repo", sample, "--env", "prod", "--mwaa-endpoint", srv.URL, "--format", "json"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d with no failures: %s", code, errb.String())
	}
	var v struct {
		FailedRuns []any `json:"failed_runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.FailedRuns == nil || len(v.FailedRuns) != 0 {
		t.Fatalf("json = %s (%v)", out.String(), err)
	}
	noConfig := t.TempDir()
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"--repo", sample}, "--env is required"},
		{[]string{"--repo", sample, "--env", "qa"}, `unknown environment "qa"`},
		{[]string{"--repo", noConfig, "--env", "prod"}, noConfig + " has no .conveyor.yml: failures needs"},
	} {
		errb.Reset()
		if code := runFailures(context.Background(), tt.args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), tt.says) {
			t.Errorf("%v: exit %d (want %d), stderr %q does not say %q", tt.args, code, exitUsage, errb.String(), tt.says)
		}
	}
}
