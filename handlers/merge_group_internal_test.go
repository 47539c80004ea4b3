package handlers

import (
	"strings"
	"testing"
)

func TestQueuedPR(t *testing.T) {
	tests := []struct {
		ref    string
		number int
		head   string
	}{
		{"refs/heads/gh-readonly-queue/main/pr-12-3f9a0c1b7d2e4f60aa", 12, "3f9a0c1b7d2e4f60aa"},
		{"refs/heads/gh-readonly-queue/release/2026/pr-7-abc", 7, "abc"},
		{"refs/heads/gh-readonly-queue/main/pr-0-abc", 0, ""},
		{"refs/heads/gh-readonly-queue/main/pr-x-abc", 0, ""},
		{"refs/heads/gh-readonly-queue/main/pr-12", 0, ""},
		{"refs/heads/main", 0, ""},
		{"", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			n, head := queuedPR(tt.ref)
			if n != tt.number || head != tt.head {
				t.Errorf("queuedPR(%q) = %d, %q; want %d, %q", tt.ref, n, head, tt.number, tt.head)
			}
		})
	}
}

func FuzzQueuedPR(f *testing.F) {
	f.Add("refs/heads/gh-readonly-queue/main/pr-12-3f9a0c1b")
	f.Add("refs/heads/gh-readonly-queue/a/pr-/pr-1-")
	f.Fuzz(func(t *testing.T, ref string) {
		n, head := queuedPR(ref)
		if n < 0 || (n == 0 && head != "") {
			t.Fatalf("queuedPR(%q) = %d, %q", ref, n, head)
		}
		if n > 0 && !strings.Contains(ref, "/pr-") {
			t.Fatalf("queuedPR(%q) found PR %d in a ref that names none", ref, n)
		}
	})
}
