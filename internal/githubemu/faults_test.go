package githubemu

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v74/github"
)

func TestFailNext(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emu.FailNext("GET", "/repos/parcelflow/data-platform", 502, 2, nil)
	for i := range 2 {
		if _, resp, err := f.gh.Repositories.Get(ctx, "parcelflow", "data-platform"); err == nil || resp.StatusCode != 502 {
			t.Fatalf("attempt %d: status %v err %v, want 502", i, resp.StatusCode, err)
		}
	}
	must[*github.Repository](t)(f.gh.Repositories.Get(ctx, "parcelflow", "data-platform"))

	f.emu.FailNext("POST", "/repos/*/*/check-runs", 403, 1, map[string]string{"Retry-After": "1"})
	_, _, err := f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: "a", HeadSHA: f.repo.Branch("main")})
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Second {
		t.Fatalf("err = %T %v, want AbuseRateLimitError with 1s retry", err, err)
	}
	// go-github now refuses requests until Retry-After passes; a fresh client goes through.
	must[*github.CheckRun](t)(f.emu.Client().Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: "a", HeadSHA: f.repo.Branch("main")}))

	if n := len(f.emu.CallsTo("GET", "/repos/parcelflow/data-platform")); n != 3 {
		t.Errorf("recorded GETs = %d, want 3", n)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emu.SetRateRemaining(2)
	_, resp, err := f.gh.Repositories.Get(ctx, "parcelflow", "data-platform")
	if err != nil || resp.Rate.Remaining != 1 || resp.Rate.Limit != 5000 || resp.Rate.Reset.IsZero() {
		t.Fatalf("rate = %+v, %v", resp.Rate, err)
	}
	f.gh.Repositories.Get(ctx, "parcelflow", "data-platform")
	_, _, err = f.gh.Repositories.Get(ctx, "parcelflow", "data-platform")
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Remaining != 0 {
		t.Fatalf("err = %T %v, want RateLimitError", err, err)
	}
	// /rate_limit itself is free, as on GitHub.
	lim := must[*github.RateLimits](t)(f.gh.RateLimit.Get(ctx))
	if lim.GetCore().Remaining != 0 || lim.GetCore().Limit != 5000 {
		t.Errorf("core = %+v", lim.GetCore())
	}
}

func TestRoutingAndRecording(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok := f.emu.InstallationToken()
	tests := []struct {
		name, path string
		want       int
	}{
		{"root", "/repos/parcelflow/data-platform", 200},
		{"enterprise prefix", "/api/v3/repos/parcelflow/data-platform", 200},
		{"unknown repo", "/repos/parcelflow/nope", 404},
		{"unknown route", "/repos/parcelflow/data-platform/hooks", 404},
		{"escaped branch in ref", "/repos/parcelflow/data-platform/commits/main/check-runs", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, "GET", f.base+tc.path, nil)
			req.Header.Set("Authorization", "token "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	un := f.emu.UnmatchedCalls()
	if len(un) != 1 || un[0].Path != "/repos/parcelflow/data-platform/hooks" {
		t.Errorf("unmatched = %+v", un)
	}
	f.emu.ResetCalls()
	if len(f.emu.Calls()) != 0 {
		t.Error("ResetCalls kept calls")
	}

	// A branch with a slash, escaped by go-github, still resolves.
	f.repo.Commit("feature/x", map[string]string{"a": "b"}, "x", "bob")
	res := must[*github.ListCheckRunsResults](t)(f.gh.Checks.ListCheckRunsForRef(ctx, "parcelflow", "data-platform", "feature/x", nil))
	if res.GetTotal() != 0 {
		t.Errorf("runs = %d", res.GetTotal())
	}
	calls := f.emu.CallsTo("GET", "/repos/parcelflow/data-platform/commits/")
	if len(calls) != 1 || calls[0].Status != 200 {
		t.Errorf("calls = %+v", calls)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha := f.repo.Branch("main")
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, _, err := f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: "c" + strconv.Itoa(i), HeadSHA: sha})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.repo.CheckRuns(sha)); n != 20 {
		t.Errorf("runs = %d", n)
	}
}

func TestFaultAfterHandlingKeepsTheWrite(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sha := f.repo.Branch("main")
	f.emu.AddFault(Fault{Method: "POST", Path: "/repos/*/*/check-runs", Status: 502, Times: 1, AfterHandling: true})
	_, resp, err := f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: "lost", HeadSHA: sha})
	if err == nil || resp.StatusCode != 502 {
		t.Fatalf("status %v err %v, want the 502 in place of the answer", resp.StatusCode, err)
	}
	if runs := f.repo.CheckRuns(sha); len(runs) != 1 || runs[0].Name != "lost" {
		t.Fatalf("runs after a lost answer = %+v, want the one created", runs)
	}
	must[*github.CheckRun](t)(f.gh.Checks.CreateCheckRun(ctx, "parcelflow", "data-platform", github.CreateCheckRunOptions{Name: "kept", HeadSHA: sha}))
	if calls := f.emu.CallsTo("POST", "/repos/parcelflow/data-platform/check-runs"); len(calls) != 2 || calls[0].Status != 502 || calls[1].Status != 201 {
		t.Fatalf("recorded creates = %+v, want a 502 then a 201", calls)
	}
}
