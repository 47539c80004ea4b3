package timeline

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v74/github"
	"github.com/rs/zerolog"
)

// Reactions GitHub accepts on a comment.
var reactions = map[string]bool{"+1": true, "-1": true, "laugh": true, "confused": true, "heart": true, "hooray": true, "rocket": true, "eyes": true}

// partReserve is room kept in each part of a split comment for its
// "Part i of n" header and a closing code fence.
const partReserve = 64

// maxFence bounds a reopened fence line; a longer info string is dropped.
const maxFence = 20

// Comment posts body on pull request (or issue) number and returns the ID of
// the comment. A body over GitHub's 65,536 characters is split at line breaks
// into several comments, each headed "Part i of n", with code fences closed at
// the end of a part and reopened at the start of the next; the returned ID is
// the first part's, which is the one to react to or edit.
//
// Each comment starts with a hidden marker (an HTML comment) unique to it.
// GitHub may post a comment and still answer with a 5xx; before retrying then,
// the writer looks for a comment carrying the marker and takes it as posted,
// so a retry never posts the same comment twice.
func (w *Writer) Comment(ctx context.Context, number int, body string) (int64, error) {
	parts := SplitComment(w.red(body), MaxCommentChars-markerLen)
	var first int64
	for i, p := range parts {
		marker := commentMarker(uniqueMarker())
		text := marker + "\n" + p
		since := w.retry.Now().Add(-markerClockSkew)
		var c *github.IssueComment
		maybePosted := false
		err := w.do(ctx, fmt.Sprintf("commenting on %s#%d (part %d of %d)", w.where(), number, i+1, len(parts)), func(ctx context.Context) (*github.Response, error) {
			if maybePosted {
				found, resp, err := w.findComment(ctx, number, marker, since)
				if err != nil || found != nil {
					c = found
					return resp, err
				}
			}
			posted, resp, err := w.gh.Issues.CreateComment(ctx, w.owner, w.repo, number, &github.IssueComment{Body: &text})
			c, maybePosted = posted, err != nil && mayHaveWritten(resp)
			return resp, err
		})
		if err != nil {
			return first, err
		}
		if i == 0 {
			first = c.GetID()
		}
	}
	return first, nil
}

// The marker is "<!-- conveyor:<16 hex digits> -->" on the comment's first
// line: GitHub renders it as nothing.
const (
	markerPrefix = "<!-- conveyor:"
	markerSuffix = " -->"
	markerLen    = len(markerPrefix) + 16 + len(markerSuffix) + 1 // and its line break
	// markerClockSkew widens the search for a posted comment, whose time is
	// GitHub's clock, not ours.
	markerClockSkew = 5 * time.Minute
)

func commentMarker(id string) string { return markerPrefix + id + markerSuffix }

// CommentText is a comment's body without the marker the writer puts on its
// first line, for showing a comment as people see it.
func CommentText(body string) string {
	first, rest, ok := strings.Cut(body, "\n")
	if ok && strings.HasPrefix(first, markerPrefix) && strings.HasSuffix(first, markerSuffix) {
		return rest
	}
	return body
}

// findComment looks for the comment on number that carries marker, among
// those updated since since.
func (w *Writer) findComment(ctx context.Context, number int, marker string, since time.Time) (*github.IssueComment, *github.Response, error) {
	opts := &github.IssueListCommentsOptions{Since: &since, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := w.gh.Issues.ListComments(ctx, w.owner, w.repo, number, opts)
		if err != nil {
			return nil, resp, err
		}
		for _, c := range page {
			if strings.HasPrefix(c.GetBody(), marker+"\n") {
				zerolog.Ctx(ctx).Info().Int64("comment_id", c.GetID()).Int("number", number).
					Msg("GitHub had posted the comment although it answered with an error; using it")
				return c, resp, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, resp, nil
		}
		opts.Page = resp.NextPage
	}
}

// UpdateComment replaces a comment's body. An edit keeps one comment, so a
// body over 65,536 characters is truncated with a note of how much was left out.
func (w *Writer) UpdateComment(ctx context.Context, id int64, body string) error {
	b := Truncate(w.red(body), MaxCommentChars)
	return w.do(ctx, fmt.Sprintf("editing comment %d on %s", id, w.where()), func(ctx context.Context) (resp *github.Response, err error) {
		_, resp, err = w.gh.Issues.EditComment(ctx, w.owner, w.repo, id, &github.IssueComment{Body: &b})
		return resp, err
	})
}

// React adds a reaction ("eyes", "rocket", "confused", "+1" …) to a comment.
func (w *Writer) React(ctx context.Context, commentID int64, content string) error {
	if !reactions[content] {
		return fmt.Errorf("reacting to comment %d: %q is not a GitHub reaction (want one of +1, -1, laugh, confused, heart, hooray, rocket, eyes)", commentID, content)
	}
	return w.do(ctx, fmt.Sprintf("reacting %s to comment %d", content, commentID), func(ctx context.Context) (resp *github.Response, err error) {
		_, resp, err = w.gh.Reactions.CreateIssueCommentReaction(ctx, w.owner, w.repo, commentID, content)
		return resp, err
	})
}

// SplitComment cuts body into parts of at most limit bytes each. One part is
// returned unchanged; several are headed "**Part i of n**", cut at a line
// break where one is near, and a code fence left open at the end of a part is
// closed there and reopened in the next.
func SplitComment(body string, limit int) []string {
	if len(body) <= limit {
		return []string{body}
	}
	budget := limit - partReserve
	var chunks []string
	rest := body
	reopen := ""
	for rest != "" {
		room := max(budget-len(reopen), 8)
		chunk := rest
		if len(chunk) > room {
			chunk = cutRunes(rest, room)
			if chunk == "" {
				_, n := utf8.DecodeRuneInString(rest)
				chunk = rest[:n]
			}
			if i := strings.LastIndexByte(chunk, '\n'); i > room/2 {
				chunk = chunk[:i+1]
			}
		}
		rest = rest[len(chunk):]
		text := reopen + chunk
		reopen = ""
		if fence, open := openFence(text); open && rest != "" {
			if !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			text += "```"
			if len(fence) > maxFence {
				fence = "```"
			}
			reopen = fence + "\n"
		}
		chunks = append(chunks, text)
	}
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = fmt.Sprintf("**Part %d of %d**\n\n%s", i+1, len(chunks), c)
	}
	return out
}

// openFence reports whether text ends inside a ``` code block, and the line
// that opened it (with its language), so the block can be reopened.
func openFence(text string) (string, bool) {
	open, fence := false, ""
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") {
			if !open {
				fence = t
			}
			open = !open
		}
	}
	return fence, open
}
