package airflow

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/mwaa"
)

// CLITokens issues MWAA CLI tokens (narrowed from *mwaa.Client for tests).
type CLITokens interface {
	CreateCliToken(ctx context.Context, in *mwaa.CreateCliTokenInput, opts ...func(*mwaa.Options)) (*mwaa.CreateCliTokenOutput, error)
}

// CLI runs Airflow CLI commands in an MWAA environment through its web
// server's CLI endpoint (POST https://HOST/aws_mwaa/cli), authorized by a
// short-lived CLI token from the MWAA API. The token is asked for with the
// deploying person's credentials, so CloudTrail names who ran the command.
type CLI struct {
	Tokens CLITokens
	// HTTP reaches the web server; http.DefaultClient when nil.
	HTTP *http.Client
}

// CLIError is a command that ran and failed: Airflow's own words.
type CLIError struct {
	Command string
	Stderr  string
}

func (e *CLIError) Error() string {
	return fmt.Sprintf("airflow %s failed: %s", e.Command, strings.TrimSpace(e.Stderr))
}

// maxCLIOutput bounds what is read of one CLI answer.
const maxCLIOutput = 4 << 20

// Run runs `airflow ARGS…` in env and returns its standard output. A command
// Airflow rejects is a *CLIError carrying its standard error.
func (c *CLI) Run(ctx context.Context, env string, args ...string) (string, error) {
	for _, a := range args {
		// The endpoint splits the body on spaces: an argument holding one
		// would be read as two.
		if a == "" || strings.ContainsAny(a, " \t\r\n") {
			return "", fmt.Errorf("airflow: CLI argument %q is empty or holds whitespace", a)
		}
	}
	tok, err := c.Tokens.CreateCliToken(ctx, &mwaa.CreateCliTokenInput{Name: aws.String(env)})
	if err != nil {
		return "", fmt.Errorf("airflow: CLI token for %s: %w", env, err)
	}
	host := aws.ToString(tok.WebServerHostname)
	if host == "" || aws.ToString(tok.CliToken) == "" {
		return "", fmt.Errorf("airflow: MWAA gave no CLI token or web server for %s", env)
	}
	command := strings.Join(args, " ")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+host+"/aws_mwaa/cli", strings.NewReader(command))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+aws.ToString(tok.CliToken))
	req.Header.Set("Content-Type", "text/plain")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("airflow: running %q on %s: %w", command, env, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxCLIOutput))
	if err != nil {
		return "", fmt.Errorf("airflow: reading the answer to %q: %w", command, err)
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("airflow: %q on %s: HTTP %d: %s", command, env, res.StatusCode, bytes.TrimSpace(body))
	}
	var out struct {
		Stdout string `json:"stdout"`
		Stderr string `json:"stderr"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("airflow: the answer to %q is not MWAA's CLI JSON: %w", command, err)
	}
	stdout, err1 := base64.StdEncoding.DecodeString(out.Stdout)
	stderr, err2 := base64.StdEncoding.DecodeString(out.Stderr)
	if err := errors.Join(err1, err2); err != nil {
		return "", fmt.Errorf("airflow: the answer to %q is not base64: %w", command, err)
	}
	if failed(string(stderr)) {
		return string(stdout), &CLIError{Command: command, Stderr: string(stderr)}
	}
	return string(stdout), nil
}

// failed reads the CLI's standard error: MWAA answers 200 whatever the
// command's exit status, and Airflow prints warnings there too, so only an
// error or traceback line counts.
func failed(stderr string) bool {
	for _, line := range strings.Split(stderr, "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "Traceback") || strings.HasPrefix(l, "airflow.exceptions.") ||
			strings.HasPrefix(l, "Error:") || strings.HasPrefix(l, "error:") || strings.Contains(l, "] ERROR - ") {
			return true
		}
	}
	return false
}

// DagRun is one run as `airflow dags list-runs -o json` prints it.
type DagRun struct {
	DagID         string `json:"dag_id"`
	RunID         string `json:"run_id"`
	State         string `json:"state"`
	ExecutionDate string `json:"execution_date"`
}

// Backfill is a backfill to start: the DAG's runs for logical dates from
// Start to End, both included.
type Backfill struct {
	DagID      string
	Start, End time.Time
}

// ErrRunsInFlight refuses a backfill whose window has runs still going:
// running the same interval twice at once loads it twice.
var ErrRunsInFlight = errors.New("runs of the DAG are in flight in the backfill window")

// BackfillResult is what a started backfill reports.
type BackfillResult struct {
	// Command is the Airflow command that ran.
	Command string
	Output  string
}

// Backfill starts b in env. It refuses when a run in the window is queued
// or running, and it never passes --reset-dagruns: Airflow's backfill skips
// the intervals that already succeeded, so nothing already loaded loads again.
func (c *CLI) Backfill(ctx context.Context, env string, b Backfill) (*BackfillResult, error) {
	if b.End.Before(b.Start) {
		return nil, fmt.Errorf("airflow: backfill of %s ends (%s) before it starts (%s)", b.DagID, day(b.End), day(b.Start))
	}
	listed, err := c.Run(ctx, env, "dags", "list-runs", "-d", b.DagID, "--start-date", day(b.Start), "--end-date", day(b.End), "-o", "json")
	if err != nil {
		return nil, err
	}
	var runs []DagRun
	if s := strings.TrimSpace(listed); s != "" && s != "No data found" {
		if err := json.Unmarshal([]byte(s), &runs); err != nil {
			return nil, fmt.Errorf("airflow: reading the runs of %s: %w", b.DagID, err)
		}
	}
	var busy []string
	for _, r := range runs {
		if r.State == "running" || r.State == "queued" {
			busy = append(busy, fmt.Sprintf("%s (%s)", r.RunID, r.State))
		}
	}
	if len(busy) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrRunsInFlight, strings.Join(busy, ", "))
	}
	args := []string{"dags", "backfill", "--start-date", day(b.Start), "--end-date", day(b.End), b.DagID}
	out, err := c.Run(ctx, env, args...)
	if err != nil {
		return nil, err
	}
	return &BackfillResult{Command: "airflow " + strings.Join(args, " "), Output: out}, nil
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }
