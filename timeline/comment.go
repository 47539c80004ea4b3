package timeline

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/go-github/v74/github"
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
func (w *Writer) Comment(ctx context.Context, number int, body string) (int64, error) {
	parts := SplitComment(w.red(body), MaxCommentChars)
	var first int64
	for i, p := range parts {
		var c *github.IssueComment
		err := w.do(ctx, fmt.Sprintf("commenting on %s#%d (part %d of %d)", w.where(), number, i+1, len(parts)), func(ctx context.Context) (resp *github.Response, err error) {
			c, resp, err = w.gh.Issues.CreateComment(ctx, w.owner, w.repo, number, &github.IssueComment{Body: &p})
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
