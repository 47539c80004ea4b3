package executor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
)

// CodeBuildAPI is what the executor needs of a CodeBuild client.
type CodeBuildAPI interface {
	StartBuild(ctx context.Context, in *codebuild.StartBuildInput, opts ...func(*codebuild.Options)) (*codebuild.StartBuildOutput, error)
	BatchGetBuilds(ctx context.Context, in *codebuild.BatchGetBuildsInput, opts ...func(*codebuild.Options)) (*codebuild.BatchGetBuildsOutput, error)
	StopBuild(ctx context.Context, in *codebuild.StopBuildInput, opts ...func(*codebuild.Options)) (*codebuild.StopBuildOutput, error)
}

// LogsAPI reads a build's CloudWatch log stream.
type LogsAPI interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// Secret references CodeBuild resolves inside the environment's account, so
// secret values never travel in the StartBuild request.
const (
	SecretParameterStore = "ssm:"
	SecretsManager       = "secretsmanager:"
)

// CodeBuild runs commands as builds of a CodeBuild project in the
// environment's account (the production executor). The project's source is
// the data repo; each build checks out the release's commit.
type CodeBuild struct {
	Client CodeBuildAPI
	// Logs, when set, is used to attach the build's log text to the result.
	Logs    LogsAPI
	Project string
	// PollInterval between BatchGetBuilds calls (default 10 s).
	PollInterval time.Duration
}

var _ Executor = (*CodeBuild)(nil)

// Run starts a build whose buildspec runs cmd.Script, waits for it, and
// returns its outcome and logs. cmd.Vars go in as plain variables; each
// cmd.Env value must be a reference ("ssm:/path" or "secretsmanager:arn"),
// since a secret sent as plain text would show in the build's settings.
// The commit built is cmd.Vars["CONVEYOR_SHA"] when set.
func (c *CodeBuild) Run(ctx context.Context, cmd Command) (Result, error) {
	if strings.TrimSpace(cmd.Script) == "" {
		return Result{}, errors.New("executor: empty command")
	}
	vars, err := codeBuildEnv(cmd)
	if err != nil {
		return Result{}, err
	}
	timeout := cmd.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	in := &codebuild.StartBuildInput{
		ProjectName:                  aws.String(c.Project),
		BuildspecOverride:            aws.String(Buildspec(cmd.Script)),
		EnvironmentVariablesOverride: vars,
		TimeoutInMinutesOverride:     aws.Int32(int32(min(max((timeout+time.Minute-1)/time.Minute, 5), 2160))),
	}
	if sha := cmd.Vars["CONVEYOR_SHA"]; sha != "" {
		in.SourceVersion = aws.String(sha)
	}
	start := time.Now()
	out, err := c.Client.StartBuild(ctx, in)
	if err != nil {
		return Result{}, fmt.Errorf("executor: starting %s in CodeBuild project %s: %w", cmd.Name, c.Project, err)
	}
	if out.Build == nil || out.Build.Id == nil {
		return Result{}, fmt.Errorf("executor: CodeBuild returned no build for %s", cmd.Name)
	}
	id := aws.ToString(out.Build.Id)
	build, timedOut, err := c.wait(ctx, id, timeout)
	if err != nil {
		return Result{}, err
	}
	res := Result{Duration: time.Since(start), TimedOut: timedOut}
	switch {
	case timedOut || build.BuildStatus == cbtypes.StatusTypeTimedOut:
		res.TimedOut, res.ExitCode = true, 124
	case build.BuildStatus == cbtypes.StatusTypeSucceeded:
	case build.BuildStatus == cbtypes.StatusTypeStopped:
		res.ExitCode = 130
	default:
		res.ExitCode = 1
	}
	if build.Logs != nil {
		res.LogURL = aws.ToString(build.Logs.DeepLink)
		if c.Logs != nil && build.Logs.GroupName != nil && build.Logs.StreamName != nil {
			text, err := c.fetchLogs(ctx, aws.ToString(build.Logs.GroupName), aws.ToString(build.Logs.StreamName))
			if err != nil {
				text = fmt.Sprintf("[conveyor] could not read the build log: %v\n", err)
			}
			res.Output = text
		}
	}
	if res.Output == "" {
		res.Output = fmt.Sprintf("[conveyor] build %s %s\n", id, build.BuildStatus)
	}
	res.Output = Mask(res.Output, cmd.Env)
	return res, nil
}

func codeBuildEnv(cmd Command) ([]cbtypes.EnvironmentVariable, error) {
	var out []cbtypes.EnvironmentVariable
	for _, k := range sortedKeys(cmd.Vars) {
		out = append(out, cbtypes.EnvironmentVariable{Name: aws.String(k), Value: aws.String(cmd.Vars[k]), Type: cbtypes.EnvironmentVariableTypePlaintext})
	}
	for _, k := range sortedKeys(cmd.Env) {
		v := cmd.Env[k]
		switch {
		case strings.HasPrefix(v, SecretParameterStore):
			out = append(out, cbtypes.EnvironmentVariable{Name: aws.String(k), Value: aws.String(strings.TrimPrefix(v, SecretParameterStore)), Type: cbtypes.EnvironmentVariableTypeParameterStore})
		case strings.HasPrefix(v, SecretsManager):
			out = append(out, cbtypes.EnvironmentVariable{Name: aws.String(k), Value: aws.String(strings.TrimPrefix(v, SecretsManager)), Type: cbtypes.EnvironmentVariableTypeSecretsManager})
		default:
			return nil, fmt.Errorf("executor: secret %s for %s must be a reference (%s/path or %sarn), not a value", k, cmd.Name, SecretParameterStore, SecretsManager)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Buildspec wraps a script in a CodeBuild buildspec that runs it with bash,
// failing on the first failing line.
func Buildspec(script string) string {
	var b strings.Builder
	b.WriteString("version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands:\n      - |\n        set -euo pipefail\n")
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		b.WriteString("        " + line + "\n")
	}
	return b.String()
}

func (c *CodeBuild) wait(ctx context.Context, id string, timeout time.Duration) (cbtypes.Build, bool, error) {
	interval := c.PollInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	// CodeBuild enforces the timeout itself; ours adds the queue time slack.
	deadline := time.Now().Add(timeout + 15*time.Minute)
	for {
		out, err := c.Client.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{id}})
		if err != nil {
			return cbtypes.Build{}, false, fmt.Errorf("executor: reading build %s: %w", id, err)
		}
		if len(out.Builds) == 1 && out.Builds[0].BuildComplete {
			return out.Builds[0], false, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_, _ = c.Client.StopBuild(context.WithoutCancel(ctx), &codebuild.StopBuildInput{Id: aws.String(id)})
			if ctx.Err() != nil {
				return cbtypes.Build{}, false, fmt.Errorf("executor: build %s stopped: %w", id, ctx.Err())
			}
			b := cbtypes.Build{Id: aws.String(id), BuildStatus: cbtypes.StatusTypeTimedOut}
			if len(out.Builds) == 1 {
				b.Logs = out.Builds[0].Logs
			}
			return b, true, nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

func (c *CodeBuild) fetchLogs(ctx context.Context, group, stream string) (string, error) {
	buf := &limitedBuffer{max: MaxOutput}
	var token *string
	for range 1000 {
		out, err := c.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), NextToken: token,
		})
		if err != nil {
			return buf.String(), err
		}
		for _, e := range out.Events {
			msg := aws.ToString(e.Message)
			if !strings.HasSuffix(msg, "\n") {
				msg += "\n"
			}
			_, _ = buf.Write([]byte(msg))
		}
		// The stream's end is a token that no longer moves.
		if out.NextForwardToken == nil || (token != nil && *out.NextForwardToken == *token) || len(out.Events) == 0 {
			break
		}
		token = out.NextForwardToken
	}
	return buf.String(), nil
}
