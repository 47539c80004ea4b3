package airflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// presets are Airflow's cron presets.
var presets = map[string]string{
	"@hourly":    "0 * * * *",
	"@daily":     "0 0 * * *",
	"@midnight":  "0 0 * * *",
	"@weekly":    "0 0 * * 0",
	"@monthly":   "0 0 1 * *",
	"@quarterly": "0 0 1 */3 *",
	"@yearly":    "0 0 1 1 *",
	"@annually":  "0 0 1 1 *",
}

// maxCount bounds the cron ticks counted exactly; beyond it the count is
// extrapolated, which is plenty for "how many runs land on deploy".
const maxCount = 20000

// EstimateRuns estimates how many runs the scheduler creates as soon as a DAG
// that catches up is deployed at now: one per schedule interval between its
// start_date (or end_date, if earlier than now) and now. airflow3 selects the
// default schedule of an unset one (daily before Airflow 3, none from 3 on).
// ok is false when the schedule or start_date cannot be known statically.
func EstimateRuns(d *DAG, now time.Time, airflow3 bool) (runs int64, ok bool) {
	start, known := d.StartTime()
	if !known || d.StartDateRuntime != "" {
		return 0, false
	}
	end := now
	if !d.end.IsZero() && d.end.Before(end) {
		end = d.end
	}
	if !start.Before(end) {
		return 0, true
	}
	sched := strings.TrimSpace(d.Schedule)
	if sched == "" {
		if airflow3 {
			return 0, true
		}
		sched = "@daily"
	}
	if d.every > 0 {
		return int64(end.Sub(start) / d.every), true
	}
	switch {
	case sched == "None" || sched == "@once" || sched == "@continuous" || strings.HasPrefix(sched, "dataset:"):
		if sched == "@once" || sched == "@continuous" {
			return 1, true
		}
		return 0, true
	}
	if p, ok := presets[sched]; ok {
		sched = p
	}
	c, err := parseCron(sched)
	if err != nil {
		return 0, false
	}
	var n int64
	var first time.Time
	t := start.Add(-time.Minute)
	for n < maxCount {
		t = c.next(t)
		if t.IsZero() || t.After(end) {
			// Runs cover whole intervals: the first tick opens the first one.
			return max(n-1, 0), true
		}
		if n == 0 {
			first = t
		}
		n++
	}
	// Extrapolate the intervals counted so far over the whole span.
	return int64(float64(n-1) * float64(end.Sub(first)) / float64(t.Sub(first))), true
}

// cron is a parsed five-field cron expression, evaluated in UTC.
type cron struct {
	minute, hour, dom, month, dow [61]bool
	domAny, dowAny                bool
}

var cronNames = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
}

func parseCron(s string) (*cron, error) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return nil, fmt.Errorf("cron %q: expected 5 fields, got %d", s, len(f))
	}
	c := &cron{}
	specs := []struct {
		set    *[61]bool
		lo, hi int
	}{{&c.minute, 0, 59}, {&c.hour, 0, 23}, {&c.dom, 1, 31}, {&c.month, 1, 12}, {&c.dow, 0, 7}}
	for j, sp := range specs {
		if err := parseField(f[j], sp.lo, sp.hi, sp.set); err != nil {
			return nil, fmt.Errorf("cron %q: field %d: %w", s, j+1, err)
		}
	}
	if c.dow[7] {
		c.dow[0] = true
	}
	c.domAny = f[2] == "*" || f[2] == "?"
	c.dowAny = f[4] == "*" || f[4] == "?"
	return c, nil
}

func parseField(f string, lo, hi int, set *[61]bool) error {
	for _, part := range strings.Split(f, ",") {
		step := 1
		if j := strings.IndexByte(part, '/'); j >= 0 {
			n, err := strconv.Atoi(part[j+1:])
			if err != nil || n <= 0 {
				return fmt.Errorf("bad step in %q", part)
			}
			step, part = n, part[:j]
		}
		a, b := lo, hi
		switch {
		case part == "*" || part == "?":
		case strings.Contains(part, "-"):
			x, y, _ := strings.Cut(part, "-")
			var err1, err2 error
			a, err1 = cronNum(x)
			b, err2 = cronNum(y)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("bad range %q", part)
			}
		default:
			n, err := cronNum(part)
			if err != nil {
				return err
			}
			a, b = n, n
			if step > 1 {
				b = hi
			}
		}
		if a < lo || b > hi || a > b {
			return fmt.Errorf("%q is outside %d-%d", part, lo, hi)
		}
		for x := a; x <= b; x += step {
			set[x] = true
		}
	}
	return nil
}

func cronNum(s string) (int, error) {
	if n, ok := cronNames[strings.ToLower(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return n, nil
}

func (c *cron) dayMatch(t time.Time) bool {
	dom, dow := c.dom[t.Day()], c.dow[int(t.Weekday())]
	switch {
	case c.domAny && c.dowAny:
		return true
	case c.domAny:
		return dow
	case c.dowAny:
		return dom
	}
	return dom || dow
}

// next returns the first tick after t, or the zero time when none comes
// within five years (an impossible date such as Feb 30).
func (c *cron) next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case !c.month[int(t.Month())]:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.dayMatch(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !c.hour[t.Hour()]:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !c.minute[t.Minute()]:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}
