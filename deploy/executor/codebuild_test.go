package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
)

// fakeAWS speaks the JSON 1.1 protocol of CodeBuild (StartBuild,
// BatchGetBuilds, StopBuild) and CloudWatch Logs (GetLogEvents).
type fakeAWS struct {
	mu       sync.Mutex
	status   string
	polls    int
	requests map[string][]map[string]any
	logLines []string
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[target] = append(f.requests[target], in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	build := func(status string, complete bool) map[string]any {
		return map[string]any{"id": "conveyor-deploy:b-1", "buildStatus": status, "buildComplete": complete,
			"logs": map[string]any{"groupName": "/aws/codebuild/conveyor-deploy", "streamName": "b-1", "deepLink": "https://console.aws.amazon.com/cloudwatch/home#logEvent:group=/aws/codebuild/conveyor-deploy;stream=b-1"}}
	}
	switch target {
	case "CodeBuild_20161006.StartBuild":
		_ = json.NewEncoder(w).Encode(map[string]any{"build": build("IN_PROGRESS", false)})
	case "CodeBuild_20161006.BatchGetBuilds":
		if f.polls > 0 {
			f.polls--
			_ = json.NewEncoder(w).Encode(map[string]any{"builds": []any{build("IN_PROGRESS", false)}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"builds": []any{build(f.status, true)}})
	case "CodeBuild_20161006.StopBuild":
		_ = json.NewEncoder(w).Encode(map[string]any{"build": build("STOPPED", true)})
	case "Logs_20140328.GetLogEvents":
		tok, _ := in["nextToken"].(string)
		if tok != "" {
			_ = json.NewEncoder(w).Encode(map[string]any{"events": []any{}, "nextForwardToken": tok})
			return
		}
		var evs []any
		for i, l := range f.logLines {
			evs = append(evs, map[string]any{"message": l, "timestamp": 1700000000000 + i})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"events": evs, "nextForwardToken": "f/2"})
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"%s"}`, target)
	}
}

func newCodeBuild(t *testing.T, f *fakeAWS) *CodeBuild {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("ASIA", "s", "t")}
	return &CodeBuild{
		Client:       codebuild.NewFromConfig(cfg, func(o *codebuild.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		Logs:         cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		Project:      "conveyor-deploy",
		PollInterval: time.Millisecond,
	}
}

func TestCodeBuild(t *testing.T) {
	tests := []struct {
		status   string
		exit     int
		timedOut bool
	}{
		{"SUCCEEDED", 0, false},
		{"FAILED", 1, false},
		{"TIMED_OUT", 124, true},
		{"STOPPED", 130, false},
	}
	for _, tc := range tests {
		t.Run(tc.status, func(t *testing.T) {
			f := &fakeAWS{status: tc.status, polls: 2, requests: map[string][]map[string]any{},
				logLines: []string{"Running dbt build", "password is hunter2-secret"}}
			cb := newCodeBuild(t, f)
			res, err := cb.Run(context.Background(), Command{
				Name: "warehouse apply", Script: "dbt deps\ndbt build --target $CONVEYOR_ENV", Timeout: 12 * time.Minute,
				Vars: map[string]string{"CONVEYOR_ENV": "prod", "CONVEYOR_SHA": "abc123"},
				Env:  map[string]string{"SNOWFLAKE_PASSWORD": "ssm:/conveyor/prod/snowflake", "GH_TOKEN": "secretsmanager:arn:aws:secretsmanager:eu-west-1:333333333333:secret:gh"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.exit || res.TimedOut != tc.timedOut {
				t.Fatalf("exit %d timed out %v, want %d %v", res.ExitCode, res.TimedOut, tc.exit, tc.timedOut)
			}
			if !strings.Contains(res.LogURL, "stream=b-1") || !strings.Contains(res.Output, "Running dbt build") {
				t.Fatalf("log URL %q output %q", res.LogURL, res.Output)
			}
			starts := f.requests["CodeBuild_20161006.StartBuild"]
			if len(starts) != 1 {
				t.Fatalf("%d StartBuild requests", len(starts))
			}
			in := starts[0]
			spec, _ := in["buildspecOverride"].(string)
			if in["projectName"] != "conveyor-deploy" || in["sourceVersion"] != "abc123" || in["timeoutInMinutesOverride"] != float64(12) ||
				!strings.Contains(spec, "        dbt build --target $CONVEYOR_ENV\n") || !strings.Contains(spec, "set -euo pipefail") {
				t.Fatalf("StartBuild request = %v", in)
			}
			vars := map[string]string{}
			for _, v := range in["environmentVariablesOverride"].([]any) {
				m := v.(map[string]any)
				vars[m["name"].(string)] = m["type"].(string) + " " + m["value"].(string)
			}
			want := map[string]string{
				"CONVEYOR_ENV": "PLAINTEXT prod", "CONVEYOR_SHA": "PLAINTEXT abc123",
				"SNOWFLAKE_PASSWORD": "PARAMETER_STORE /conveyor/prod/snowflake",
				"GH_TOKEN":           "SECRETS_MANAGER arn:aws:secretsmanager:eu-west-1:333333333333:secret:gh",
			}
			if fmt.Sprint(vars) != fmt.Sprint(want) {
				t.Fatalf("variables = %v, want %v", vars, want)
			}
			if len(f.requests["CodeBuild_20161006.BatchGetBuilds"]) != 3 {
				t.Fatalf("want 3 polls, got %d", len(f.requests["CodeBuild_20161006.BatchGetBuilds"]))
			}
		})
	}
	t.Run("a secret value is refused", func(t *testing.T) {
		f := &fakeAWS{status: "SUCCEEDED", requests: map[string][]map[string]any{}}
		cb := newCodeBuild(t, f)
		_, err := cb.Run(context.Background(), Command{Name: "x", Script: "true", Env: map[string]string{"TOKEN": "plain-secret-value"}})
		if err == nil || !strings.Contains(err.Error(), "TOKEN") || strings.Contains(err.Error(), "plain-secret-value") {
			t.Fatalf("want an error naming TOKEN without its value, got %v", err)
		}
		if len(f.requests["CodeBuild_20161006.StartBuild"]) != 0 {
			t.Fatal("no build may start")
		}
	})
}

func TestLocal(t *testing.T) {
	tests := []struct {
		name     string
		cmd      Command
		exit     int
		timedOut bool
		want     string
		notWant  string
		maxDur   time.Duration
	}{
		{name: "success", cmd: Command{Script: "echo hello $CONVEYOR_ENV", Vars: map[string]string{"CONVEYOR_ENV": "dev"}}, want: "hello dev"},
		{name: "exit code", cmd: Command{Script: "echo failing >&2; exit 3"}, exit: 3, want: "failing"},
		{name: "secrets masked", cmd: Command{Script: "echo token=$TOKEN", Env: map[string]string{"TOKEN": "s3cr3t-value"}}, want: "token=***", notWant: "s3cr3t-value"},
		{name: "timeout kills the process group", cmd: Command{Script: "sleep 30 & sleep 30; echo never", Timeout: 300 * time.Millisecond},
			exit: 137, timedOut: true, want: "timed out", notWant: "never", maxDur: 5 * time.Second},
		{name: "working directory", cmd: Command{Script: "pwd", Dir: "/"}, want: "/\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cmd.Name = tc.name
			start := time.Now()
			res, err := (&Local{}).Run(context.Background(), tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.exit || res.TimedOut != tc.timedOut {
				t.Fatalf("exit %d timed out %v, want %d %v (%s)", res.ExitCode, res.TimedOut, tc.exit, tc.timedOut, res.Output)
			}
			if !strings.Contains(res.Output, tc.want) || (tc.notWant != "" && strings.Contains(res.Output, tc.notWant)) {
				t.Fatalf("output %q", res.Output)
			}
			if tc.maxDur > 0 && time.Since(start) > tc.maxDur {
				t.Fatalf("took %s: the children were not killed", time.Since(start))
			}
		})
	}
	if _, err := (&Local{}).Run(context.Background(), Command{Script: "  "}); err == nil {
		t.Fatal("an empty command must be refused")
	}
}
