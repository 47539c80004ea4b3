package timeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
)

// Check run statuses, in GitHub's words.
const (
	StatusQueued     = "queued"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
)

// RunOption sets an optional field of a new check run.
type RunOption func(*github.CreateCheckRunOptions)

// ExternalID sets the run's reference in Conveyor, e.g. "conveyor/config@<delivery>";
// the writer appends "#" and a value unique to the creation.
func ExternalID(id string) RunOption {
	return func(o *github.CreateCheckRunOptions) {
		if id != "" {
			o.ExternalID = &id
		}
	}
}

// DetailsURL sets the link behind the run's "Details".
func DetailsURL(u string) RunOption {
	return func(o *github.CreateCheckRunOptions) {
		if u != "" {
			o.DetailsURL = &u
		}
	}
}

// Action is a button on a completed check run; pressing it sends a check_run
// "requested_action" event carrying Identifier.
type Action struct {
	// Label is the button's text, at most 20 characters.
	Label string
	// Description explains the button, at most 40 characters.
	Description string
	// Identifier is sent back in the event, at most 20 characters.
	Identifier string
}

// Validate reports an action GitHub would refuse.
func (a Action) Validate() error {
	switch {
	case a.Label == "" || len(a.Label) > 20:
		return fmt.Errorf("check run action %q: label must be 1 to 20 characters", a.Label)
	case a.Description == "" || len(a.Description) > 40:
		return fmt.Errorf("check run action %q: description must be 1 to 40 characters", a.Label)
	case a.Identifier == "" || len(a.Identifier) > 20:
		return fmt.Errorf("check run action %q: identifier must be 1 to 20 characters", a.Label)
	}
	return nil
}

// CreateCheckRun creates a queued check run called name at the exact commit
// sha and returns its ID.
//
// The run's external_id is the caller's (ExternalID) followed by "#" and a
// value unique to this creation. GitHub may create a run and still answer
// with a 5xx (or the answer may never arrive); before retrying then, the
// writer looks for a run at sha with that name and external_id and adopts it,
// so a retry never leaves a duplicate run queued forever.
func (w *Writer) CreateCheckRun(ctx context.Context, sha, name string, opts ...RunOption) (int64, error) {
	o := github.CreateCheckRunOptions{Name: name, HeadSHA: sha, Status: github.Ptr(StatusQueued)}
	for _, fn := range opts {
		fn(&o)
	}
	extID := uniqueMarker()
	if o.ExternalID != nil {
		extID = *o.ExternalID + "#" + extID
	}
	o.ExternalID = &extID
	var run *github.CheckRun
	maybeCreated := false
	err := w.do(ctx, "creating check run "+name, func(ctx context.Context) (*github.Response, error) {
		if maybeCreated {
			found, resp, err := w.findCheckRun(ctx, sha, name, extID)
			if err != nil || found != nil {
				run = found
				return resp, err
			}
		}
		created, resp, err := w.gh.Checks.CreateCheckRun(ctx, w.owner, w.repo, o)
		run, maybeCreated = created, err != nil && mayHaveWritten(resp)
		return resp, err
	})
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	w.names[run.GetID()] = name
	w.mu.Unlock()
	return run.GetID(), nil
}

// findCheckRun looks for the run this writer created at sha with external_id extID.
func (w *Writer) findCheckRun(ctx context.Context, sha, name, extID string) (*github.CheckRun, *github.Response, error) {
	opts := &github.ListCheckRunsOptions{CheckName: &name, Filter: github.Ptr("all"), ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := w.gh.Checks.ListCheckRunsForRef(ctx, w.owner, w.repo, sha, opts)
		if err != nil {
			return nil, resp, err
		}
		for _, r := range page.CheckRuns {
			if r.GetExternalID() == extID {
				zerolog.Ctx(ctx).Info().Int64("check_run_id", r.GetID()).Str("check", name).
					Msg("GitHub had created the check run although it answered with an error; using it")
				return r, resp, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, resp, nil
		}
		opts.Page = resp.NextPage
	}
}

// StartCheckRun marks a check run in progress.
func (w *Writer) StartCheckRun(ctx context.Context, id int64) error {
	name, err := w.runName(ctx, id)
	if err != nil {
		return err
	}
	o := github.UpdateCheckRunOptions{Name: name, Status: github.Ptr(StatusInProgress)}
	return w.updateCheckRun(ctx, id, "starting check run "+name, o)
}

// CompleteCheckRun writes a result to a check run and completes it with the
// result's conclusion. GitHub takes at most 50 annotations per request, so
// they go in batches of 50 and the last request also carries the conclusion:
// 120 annotations make exactly three requests. Summary and text are cut to
// 65,535 characters with a note saying how much was left out. Actions, when
// given, become buttons on the completed run.
func (w *Writer) CompleteCheckRun(ctx context.Context, id int64, res checks.Result, actions ...Action) error {
	name := res.Name
	if name == "" {
		var err error
		if name, err = w.runName(ctx, id); err != nil {
			return err
		}
	}
	var acts []*github.CheckRunAction
	for _, a := range actions {
		if err := a.Validate(); err != nil {
			return err
		}
		acts = append(acts, &github.CheckRunAction{Label: w.red(a.Label), Description: w.red(a.Description), Identifier: a.Identifier})
	}
	conclusion := string(res.Conclusion)
	if conclusion == "" {
		conclusion = string(checks.ConclusionFor(res.Annotations))
	}
	title := TruncateLine(w.red(strings.TrimSpace(res.Title)), MaxTitleChars)
	if title == "" {
		title = name
	}
	summary := Truncate(w.red(res.Summary), MaxOutputChars)
	if summary == "" {
		summary = title
	}
	anns := w.annotations(res.Annotations)
	batches := (len(anns) + MaxAnnotationsPerRequest - 1) / MaxAnnotationsPerRequest
	for b := 0; b < max(batches, 1); b++ {
		out := &github.CheckRunOutput{Title: &title, Summary: &summary}
		lo, hi := b*MaxAnnotationsPerRequest, min((b+1)*MaxAnnotationsPerRequest, len(anns))
		if lo < hi {
			out.Annotations = anns[lo:hi]
		}
		o := github.UpdateCheckRunOptions{Name: name, Output: out}
		what := fmt.Sprintf("writing annotations %d-%d of %d to check run %s", lo+1, hi, len(anns), name)
		if b == max(batches, 1)-1 {
			if res.Text != "" {
				out.Text = github.Ptr(Truncate(w.red(res.Text), MaxOutputChars))
			}
			o.Status = github.Ptr(StatusCompleted)
			o.Conclusion = &conclusion
			o.CompletedAt = &github.Timestamp{Time: w.retry.Now().UTC()}
			o.Actions = acts
			what = "completing check run " + name
		}
		if err := w.updateCheckRun(ctx, id, what, o); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) updateCheckRun(ctx context.Context, id int64, what string, o github.UpdateCheckRunOptions) error {
	return w.do(ctx, what, func(ctx context.Context) (resp *github.Response, err error) {
		_, resp, err = w.gh.Checks.UpdateCheckRun(ctx, w.owner, w.repo, id, o)
		return resp, err
	})
}

// runName returns the name of a check run: remembered when this writer made
// it, else read from GitHub (a run created by an earlier delivery).
func (w *Writer) runName(ctx context.Context, id int64) (string, error) {
	w.mu.Lock()
	name, ok := w.names[id]
	w.mu.Unlock()
	if ok {
		return name, nil
	}
	var run *github.CheckRun
	err := w.do(ctx, fmt.Sprintf("reading check run %d", id), func(ctx context.Context) (resp *github.Response, err error) {
		run, resp, err = w.gh.Checks.GetCheckRun(ctx, w.owner, w.repo, id)
		return resp, err
	})
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	w.names[id] = run.GetName()
	w.mu.Unlock()
	return run.GetName(), nil
}

// annotations turns check annotations into GitHub's, within GitHub's rules:
// lines start at 1, columns only on one-line annotations, bounded title and message.
func (w *Writer) annotations(in []checks.Annotation) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, 0, len(in))
	for _, a := range in {
		start := max(a.StartLine, 1)
		end := max(a.EndLine, start)
		level := string(a.Level)
		switch a.Level {
		case checks.Notice, checks.Warning, checks.Fail:
		default:
			level = string(checks.Warning)
		}
		msg := a.Message
		if a.Rule != "" {
			msg = a.Rule + ": " + msg
		}
		if msg == "" {
			msg = a.Title
		}
		ga := &github.CheckRunAnnotation{
			Path:            w.redp(a.Path),
			StartLine:       github.Ptr(start),
			EndLine:         github.Ptr(end),
			AnnotationLevel: github.Ptr(level),
			Message:         github.Ptr(TruncateLine(w.red(msg), MaxAnnotationMessage)),
		}
		if t := a.Title; t != "" {
			ga.Title = github.Ptr(TruncateLine(w.red(t), MaxTitleChars))
		}
		if start == end && a.StartColumn > 0 {
			ga.StartColumn = github.Ptr(a.StartColumn)
			ga.EndColumn = github.Ptr(max(a.EndColumn, a.StartColumn))
		}
		out = append(out, ga)
	}
	return out
}

// FailCheckRun completes a run as a failure that says why it could not finish.
// It is the error path's last word: it uses its own short deadline, so a run is
// completed even when the event's context has already ended.
func (w *Writer) FailCheckRun(ctx context.Context, id int64, name string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return w.CompleteCheckRun(ctx, id, checks.Result{
		Name:       name,
		Conclusion: checks.Failure,
		Title:      "Conveyor could not finish this check",
		Summary:    fmt.Sprintf("Conveyor stopped before this check finished: `%v`.\n\nRe-run the check; if it fails the same way, the server log has the details.", cause),
	})
}
