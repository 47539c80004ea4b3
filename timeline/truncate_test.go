package timeline_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parcelflow/conveyor/timeline"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name, in string
		limit    int
		want     string
	}{
		{"fits", "short", 10, "short"},
		{"exact", "0123456789", 10, "0123456789"},
		{"cut with note", strings.Repeat("a", 100), 40, strings.Repeat("a", 11) + "\n\n… 89 characters left out"},
		{"limit below the note", strings.Repeat("a", 100), 5, "aaaaa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := timeline.Truncate(tt.in, tt.limit); got != tt.want {
				t.Fatalf("Truncate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTruncateLine(t *testing.T) {
	if got := timeline.TruncateLine("ééééé", 7); got != "éé…" {
		t.Fatalf("TruncateLine = %q, want %q", got, "éé…")
	}
}

func FuzzTruncate(f *testing.F) {
	f.Add("hello\nworld", 8)
	f.Add(strings.Repeat("é", 100), 33)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 1<<16 || !utf8.ValidString(s) {
			return
		}
		got := timeline.Truncate(s, limit)
		if len(got) > limit {
			t.Fatalf("Truncate(%d bytes, %d) = %d bytes", len(s), limit, len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Truncate cut a character in half: %q", got)
		}
		if len(s) <= limit && got != s {
			t.Fatalf("Truncate changed a string that fits")
		}
		kept, _, _ := strings.Cut(got, "\n\n…")
		if !strings.HasPrefix(s, kept) {
			t.Fatalf("Truncate kept %q, not a prefix of the input", kept)
		}
	})
}

func FuzzSplitComment(f *testing.F) {
	f.Add("text\n```go\ncode\n```\nmore", 80)
	f.Add(strings.Repeat("```\nx\n", 50), 100)
	f.Add(strings.Repeat("é", 500), 90)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 80 || limit > 1<<16 || !utf8.ValidString(s) {
			return
		}
		parts := timeline.SplitComment(s, limit)
		var body strings.Builder
		for i, p := range parts {
			if len(p) > limit {
				t.Fatalf("part %d is %d bytes, over %d", i+1, len(p), limit)
			}
			if !utf8.ValidString(p) {
				t.Fatalf("part %d is not valid UTF-8", i+1)
			}
			body.WriteString(p)
		}
		if len(parts) == 1 && parts[0] != s {
			t.Fatalf("a body that fits was changed")
		}
		if len(parts) > 1 && body.Len() < len(s) {
			t.Fatalf("parts hold %d bytes, the body %d: something was dropped", body.Len(), len(s))
		}
	})
}

func BenchmarkSplitComment(b *testing.B) {
	body := strings.Repeat("resource \"aws_s3_bucket\" \"raw\" { bucket = \"raw-zone\" }\n", 10_000)
	b.SetBytes(int64(len(body)))
	var parts int
	for b.Loop() {
		parts = len(timeline.SplitComment(body, timeline.MaxCommentChars))
	}
	b.ReportMetric(float64(parts), "comments/op")
}

func BenchmarkRedact(b *testing.B) {
	r := timeline.NewRedactor("s3cr3t-one", "another-secret-value", "AKIAABCDEFGHIJKLMNOP")
	text := strings.Repeat("plan output line with nothing secret in it\n", 2000)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = r.Redact(text)
	}
}
