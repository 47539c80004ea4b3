package demo

import (
	"fmt"
	"io"
	"strings"

	"github.com/parcelflow/conveyor/internal/githubemu"
)

// Printer writes what a PR's timeline shows, as a person would read it.
type Printer struct {
	W io.Writer
	// MaxAnnotations bounds the annotations printed per check run.
	MaxAnnotations int
}

// Step prints a numbered step heading.
func (p *Printer) Step(n int, title string) {
	fmt.Fprintf(p.W, "\n━━ %d. %s\n", n, title)
}

// Say prints one line of narration.
func (p *Printer) Say(format string, args ...any) {
	fmt.Fprintf(p.W, "   "+format+"\n", args...)
}

var marks = map[string]string{"success": "✓", "failure": "✗", "neutral": "•", "skipped": "-", "action_required": "!", "cancelled": "⊘", "timed_out": "⏱"}

// CheckRuns prints check runs with their conclusions and annotations.
func (p *Printer) CheckRuns(runs []githubemu.CheckRun) {
	for _, r := range runs {
		state := r.Conclusion
		if r.Status != "completed" {
			state = r.Status
		}
		mark := marks[state]
		if mark == "" {
			mark = "…"
		}
		fmt.Fprintf(p.W, "   %s %-22s %-9s %s\n", mark, r.Name, state, r.Output.Title)
		max := p.MaxAnnotations
		if max == 0 {
			max = 6
		}
		for i, a := range r.Output.Annotations {
			if i == max {
				fmt.Fprintf(p.W, "       … and %d more annotations\n", len(r.Output.Annotations)-max)
				break
			}
			fmt.Fprintf(p.W, "       %s:%d %s %s\n", a.Path, a.StartLine, a.Level, oneLine(a.Title, a.Message))
		}
		for _, act := range r.Actions {
			fmt.Fprintf(p.W, "       [button] %s\n", act.Label)
		}
	}
}

// Comment prints a PR comment with its reactions.
func (p *Printer) Comment(c githubemu.Comment) {
	var reactions []string
	for _, r := range c.Reactions {
		reactions = append(reactions, emoji(r.Content))
	}
	fmt.Fprintf(p.W, "   💬 %s %s\n", c.User, strings.Join(reactions, ""))
	for _, line := range strings.Split(strings.TrimSpace(c.Body), "\n") {
		fmt.Fprintf(p.W, "      │ %s\n", line)
	}
}

// Deployments prints GitHub deployments with their status history.
func (p *Printer) Deployments(deps []githubemu.Deployment) {
	for _, d := range deps {
		var states []string
		for _, s := range d.Statuses {
			states = append(states, s.State)
		}
		fmt.Fprintf(p.W, "   🚀 %-8s %.7s  %s  [%s]\n", d.Environment, d.SHA, d.Description, strings.Join(states, " → "))
	}
}

func oneLine(title, msg string) string {
	s := msg
	if title != "" {
		s = title + ": " + msg
	}
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 150 {
		s = s[:147] + "..."
	}
	return s
}

func emoji(content string) string {
	switch content {
	case "eyes":
		return "👀"
	case "rocket":
		return "🚀"
	case "confused":
		return "😕"
	case "+1":
		return "👍"
	case "-1":
		return "👎"
	case "hooray":
		return "🎉"
	}
	return ":" + content + ":"
}

// SummarySection prints up to max lines of a check run's summary, starting at
// the first line that contains from.
func (p *Printer) SummarySection(runs []githubemu.CheckRun, name, from string, max int) {
	for _, r := range runs {
		if r.Name != name {
			continue
		}
		lines := strings.Split(r.Output.Summary, "\n")
		start := -1
		for i, l := range lines {
			if strings.Contains(l, from) {
				start = i
				break
			}
		}
		if start < 0 {
			return
		}
		for i := start; i < len(lines) && i < start+max; i++ {
			fmt.Fprintf(p.W, "      │ %s\n", lines[i])
		}
	}
}
