package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds a command that names no timeout.
const DefaultTimeout = 10 * time.Minute

// MaxOutput bounds the output kept per command; the tail is what matters on failure.
const MaxOutput = 1 << 20

// Local runs commands as subprocesses of the Conveyor process.
type Local struct {
	// BaseEnv is the environment every command starts from (nil: a minimal PATH/HOME).
	BaseEnv []string
}

// Run runs cmd.Script with `sh -c`, killing its whole process group on timeout.
func (l *Local) Run(ctx context.Context, cmd Command) (Result, error) {
	if strings.TrimSpace(cmd.Script) == "" {
		return Result{}, errors.New("executor: empty command")
	}
	timeout := cmd.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	c := exec.Command("sh", "-c", cmd.Script)
	c.Dir = cmd.Dir
	c.Env = l.env(cmd.Vars, cmd.Env)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &limitedBuffer{max: MaxOutput}
	c.Stdout, c.Stderr = out, out

	start := time.Now()
	if err := c.Start(); err != nil {
		return Result{}, fmt.Errorf("executor: starting %s: %w", cmd.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	timedOut := false
	select {
	case err = <-done:
	case <-ctx.Done():
		timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	res := Result{Duration: time.Since(start), TimedOut: timedOut, Output: Mask(out.String(), cmd.Env)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
		if res.ExitCode < 0 {
			res.ExitCode = 128 + int(syscall.SIGKILL)
		}
	default:
		return res, fmt.Errorf("executor: running %s: %w", cmd.Name, err)
	}
	if timedOut {
		res.Output += fmt.Sprintf("\n[conveyor] %s timed out after %s and was stopped\n", cmd.Name, timeout)
	}
	return res, nil
}

func (l *Local) env(vars, secrets map[string]string) []string {
	base := l.BaseEnv
	if base == nil {
		base = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8"}
	}
	env := append([]string{}, base...)
	for _, extra := range []map[string]string{vars, secrets} {
		keys := make([]string, 0, len(extra))
		for k := range extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env = append(env, k+"="+extra[k])
		}
	}
	return env
}

// Mask replaces every secret value in s with ***, so logs never carry them.
func Mask(s string, secrets map[string]string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// limitedBuffer keeps the last max bytes written, safe for two writers.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
		b.truncated = true
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return "[conveyor] output truncated to its last bytes\n" + b.buf.String()
	}
	return b.buf.String()
}
