package airflow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeMWAA answers MWAA's CreateCliToken (the REST API) and the web
// server's CLI endpoint, as MWAA does: 200 with base64 stdout and stderr.
type fakeMWAA struct {
	mu       sync.Mutex
	web      *httptest.Server
	token    string
	runs     string            // list-runs output
	answers  map[string]string // command prefix → stderr
	commands []string
	tokens   []string // environments a token was asked for
}

func newFakeMWAA(t *testing.T) (*fakeMWAA, *CLI) {
	t.Helper()
	f := &fakeMWAA{token: "cli-token-1", answers: map[string]string{}}
	f.web = httptest.NewTLSServer(http.HandlerFunc(f.serveCLI))
	t.Cleanup(f.web.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/clitoken/")
		if r.Method != http.MethodPost || !ok {
			http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
			return
		}
		if !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			http.Error(w, `{"message":"unsigned"}`, http.StatusForbidden)
			return
		}
		f.mu.Lock()
		f.tokens = append(f.tokens, name)
		f.mu.Unlock()
		host := strings.TrimPrefix(f.web.URL, "https://")
		json.NewEncoder(w).Encode(map[string]string{"CliToken": f.token, "WebServerHostname": host})
	}))
	t.Cleanup(api.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	return f, &CLI{Tokens: NewMWAAClient(cfg, api.URL), HTTP: f.web.Client()}
}

func (f *fakeMWAA) serveCLI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/aws_mwaa/cli" || r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, "Unauthorized", http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(r.Body)
	cmd := string(body)
	f.mu.Lock()
	f.commands = append(f.commands, cmd)
	stdout, stderr := "", ""
	if strings.HasPrefix(cmd, "dags list-runs") {
		stdout = f.runs
	}
	for prefix, e := range f.answers {
		if strings.HasPrefix(cmd, prefix) {
			stderr = e
		}
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]string{
		"stdout": base64.StdEncoding.EncodeToString([]byte(stdout)),
		"stderr": base64.StdEncoding.EncodeToString([]byte(stderr)),
	})
}

func TestBackfill(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		runs         string
		answers      map[string]string
		b            Backfill
		wantErr      string
		wantErrIs    error
		wantCommands []string
	}{
		{
			name:    "no runs in the window",
			runs:    "No data found",
			b:       Backfill{DagID: "orders_postgres_to_snowflake", Start: start, End: end},
			wantErr: "",
			wantCommands: []string{
				"dags list-runs -d orders_postgres_to_snowflake --start-date 2026-11-01 --end-date 2026-11-07 -o json",
				"dags backfill --start-date 2026-11-01 --end-date 2026-11-07 orders_postgres_to_snowflake",
			},
		},
		{
			name: "finished runs are left to Airflow, which skips what succeeded",
			runs: `[{"dag_id":"orders","run_id":"scheduled__2026-11-02","state":"success","execution_date":"2026-11-02T00:00:00+00:00"},
			        {"dag_id":"orders","run_id":"scheduled__2026-11-03","state":"failed","execution_date":"2026-11-03T00:00:00+00:00"}]`,
			b: Backfill{DagID: "orders", Start: start, End: end},
			wantCommands: []string{
				"dags list-runs -d orders --start-date 2026-11-01 --end-date 2026-11-07 -o json",
				"dags backfill --start-date 2026-11-01 --end-date 2026-11-07 orders",
			},
		},
		{
			name:         "a run in flight in the window refuses",
			runs:         `[{"dag_id":"orders","run_id":"scheduled__2026-11-05","state":"running","execution_date":"2026-11-05T00:00:00+00:00"}]`,
			b:            Backfill{DagID: "orders", Start: start, End: end},
			wantErrIs:    ErrRunsInFlight,
			wantErr:      "scheduled__2026-11-05 (running)",
			wantCommands: []string{"dags list-runs -d orders --start-date 2026-11-01 --end-date 2026-11-07 -o json"},
		},
		{
			name:         "Airflow's error is carried back",
			runs:         "No data found",
			answers:      map[string]string{"dags list-runs": "Traceback (most recent call last):\nairflow.exceptions.AirflowException: Dag id ghost not found in DagModel\n"},
			b:            Backfill{DagID: "ghost", Start: start, End: end},
			wantErr:      "Dag id ghost not found",
			wantCommands: []string{"dags list-runs -d ghost --start-date 2026-11-01 --end-date 2026-11-07 -o json"},
		},
		{
			name:    "an argument with a space is refused before anything runs",
			b:       Backfill{DagID: "orders; dags delete x", Start: start, End: end},
			wantErr: "holds whitespace",
		},
		{
			name:    "a window that ends before it starts",
			b:       Backfill{DagID: "orders", Start: end, End: start},
			wantErr: "ends (2026-11-01) before it starts (2026-11-07)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, cli := newFakeMWAA(t)
			f.runs, f.answers = tc.runs, tc.answers
			if f.answers == nil {
				f.answers = map[string]string{}
			}
			res, err := cli.Backfill(context.Background(), "parcelflow-prod", tc.b)
			switch {
			case tc.wantErr == "" && tc.wantErrIs == nil:
				if err != nil {
					t.Fatal(err)
				}
				if want := "airflow " + tc.wantCommands[len(tc.wantCommands)-1]; res.Command != want {
					t.Errorf("command = %q, want %q", res.Command, want)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			}
			if strings.Join(f.commands, "\n") != strings.Join(tc.wantCommands, "\n") {
				t.Errorf("commands run:\n%s\nwant:\n%s", strings.Join(f.commands, "\n"), strings.Join(tc.wantCommands, "\n"))
			}
			for _, name := range f.tokens {
				if name != "parcelflow-prod" {
					t.Errorf("a CLI token was asked for %q", name)
				}
			}
		})
	}
}
