package timeline

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// GitHub's limits on what a check run or comment may carry.
const (
	// MaxOutputChars bounds a check run's summary and text.
	MaxOutputChars = 65535
	// MaxCommentChars bounds an issue comment's body.
	MaxCommentChars = 65536
	// MaxTitleChars bounds a check run's output title and an annotation's title.
	MaxTitleChars = 255
	// MaxAnnotationsPerRequest is how many annotations one check-run request may carry.
	MaxAnnotationsPerRequest = 50
	// MaxAnnotationMessage bounds an annotation's message (64 KB).
	MaxAnnotationMessage = 64 * 1024
	// MaxDeploymentDescription bounds a deployment status's description.
	MaxDeploymentDescription = 140
)

// Truncate returns s cut to at most limit bytes (so at most limit characters
// in any counting), ending with a note that says how many characters were left
// out. The cut falls on a rune boundary, preferably at a line break.
func Truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	total := utf8.RuneCountInString(s)
	// The note's length depends on the count it reports; size it for the
	// worst case (every character left out) so the result always fits.
	noteFor := func(n int) string { return fmt.Sprintf("\n\n… %d characters left out", n) }
	room := limit - len(noteFor(total))
	if room <= 0 {
		return cutRunes(s, limit)
	}
	kept := cutRunes(s, room)
	if i := strings.LastIndexByte(kept, '\n'); i > room*3/4 {
		kept = kept[:i]
	}
	return kept + noteFor(total-utf8.RuneCountInString(kept))
}

// TruncateLine cuts a one-line value (a title, a description) to limit bytes,
// ending in "…" when cut.
func TruncateLine(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	if limit <= len(ellipsis) {
		return cutRunes(s, limit)
	}
	return cutRunes(s, limit-len(ellipsis)) + ellipsis
}

// cutRunes returns the longest prefix of s of at most n bytes that ends on a rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
