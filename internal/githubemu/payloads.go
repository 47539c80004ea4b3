package githubemu

import (
	"encoding/json"
	"fmt"
)

// The builders below return the webhook bodies the emulator's user actions send, so tests
// can deliver them by hand with Deliver: unsigned, mis-signed, duplicated or out of order.

func mustJSON(p map[string]any) []byte {
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("githubemu: encoding payload: %v", err))
	}
	return b
}

// PullRequestPayload is a "pull_request" webhook body for the PR's current state.
func (e *Emulator) PullRequestPayload(pr *PullRequest, action, sender string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return mustJSON(e.pullRequestPayload(pr, action, sender))
}

// IssueCommentPayload is an "issue_comment" webhook body for a comment on pr.
func (e *Emulator) IssueCommentPayload(pr *PullRequest, commentID int64, action, sender string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.comments[commentID]
	if c == nil {
		panic(fmt.Sprintf("githubemu: no comment %d", commentID))
	}
	return mustJSON(e.commentPayload(pr, c, action, sender, nil))
}

// PushPayload is a "push" webhook body for branch moving from before to after.
func (e *Emulator) PushPayload(r *Repo, branch, before, after, sender string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return mustJSON(r.pushPayload(branch, before, after, sender))
}

// CheckSuitePayload is a "check_suite" webhook body for the app's suite on sha.
func (e *Emulator) CheckSuitePayload(r *Repo, sha, action, sender string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return mustJSON(r.checkSuitePayload(r.suiteFor(sha), action, sender))
}

// CheckRunPayload is a "check_run" webhook body for a run.
func (e *Emulator) CheckRunPayload(r *Repo, checkRunID int64, action, sender string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	cr := r.checkRuns[checkRunID]
	if cr == nil {
		panic(fmt.Sprintf("githubemu: no check run %d", checkRunID))
	}
	return mustJSON(r.checkRunPayload(cr, action, sender))
}

// ReviewPayload is a "pull_request_review" webhook body for one of pr's reviews.
func (e *Emulator) ReviewPayload(pr *PullRequest, reviewID int64, action, sender string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rv := range pr.reviews {
		if rv.ID == reviewID {
			return mustJSON(e.reviewPayload(pr, rv, action, sender))
		}
	}
	panic(fmt.Sprintf("githubemu: no review %d", reviewID))
}
