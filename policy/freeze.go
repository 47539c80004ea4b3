package policy

import (
	"fmt"
	"time"

	"github.com/parcelflow/conveyor/config"
)

// Freeze is a freeze set by `/freeze`, as the store keeps it.
type Freeze struct {
	Env    string    `json:"env"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
}

// FreezeWindow is a freeze in force at a moment: from the config's calendar
// or from `/freeze`.
type FreezeWindow struct {
	// Name is the calendar rule's name, or "/freeze by @login".
	Name         string    `json:"name"`
	Until        time.Time `json:"until"`
	AllowLowRisk bool      `json:"allow_low_risk"`
	Reason       string    `json:"reason,omitempty"`
	// Calendar is true for a window from the config, which /unfreeze cannot lift.
	Calendar bool `json:"calendar"`
}

// ActiveFreezes returns the freezes in force on env at now: the config's
// weekly and fixed windows, read in each rule's time zone (UTC when none),
// and the dynamic freezes set by `/freeze`. A calendar rule with no
// environments applies to all of them.
func ActiveFreezes(cfg *config.RepoConfig, dynamic []Freeze, env string, now time.Time) []FreezeWindow {
	var out []FreezeWindow
	if cfg != nil {
		for _, f := range cfg.Freeze {
			if !appliesTo(f.Environments, env) {
				continue
			}
			until, ok := calendarWindow(f, now)
			if !ok {
				continue
			}
			name := f.Name
			if name == "" {
				name = "calendar freeze"
			}
			out = append(out, FreezeWindow{Name: name, Until: until, AllowLowRisk: f.AllowLowRisk, Reason: f.Reason, Calendar: true})
		}
	}
	for _, f := range dynamic {
		if f.Env != env || !now.Before(f.Until) || (!f.Since.IsZero() && now.Before(f.Since)) {
			continue
		}
		out = append(out, FreezeWindow{Name: "/freeze by @" + f.By, Until: f.Until, Reason: f.Reason})
	}
	return out
}

func appliesTo(envs []string, env string) bool {
	if len(envs) == 0 {
		return true
	}
	for _, e := range envs {
		if e == env {
			return true
		}
	}
	return false
}

// calendarWindow reports whether now falls in the rule's window and when the
// window ends. Weekly windows compare wall-clock time in the rule's zone, so
// "Fri 16:00" stays 16:00 across daylight-saving changes.
func calendarWindow(f config.FreezeRule, now time.Time) (time.Time, bool) {
	loc := time.UTC
	if f.Timezone != "" {
		l, err := time.LoadLocation(f.Timezone)
		if err != nil {
			return time.Time{}, false // config validation reports it
		}
		loc = l
	}
	if f.Start != "" || f.End != "" {
		start, err1 := time.Parse(time.RFC3339, f.Start)
		end, err2 := time.Parse(time.RFC3339, f.End)
		if err1 != nil || err2 != nil {
			return time.Time{}, false
		}
		return end, !now.Before(start) && now.Before(end)
	}
	fromDay, fromMin, err1 := config.ParseWeekTime(f.From)
	toDay, toMin, err2 := config.ParseWeekTime(f.To)
	if err1 != nil || err2 != nil {
		return time.Time{}, false
	}
	t := now.In(loc)
	m := int(t.Weekday())*24*60 + t.Hour()*60 + t.Minute()
	from := int(fromDay)*24*60 + fromMin
	to := int(toDay)*24*60 + toMin
	var in bool
	switch {
	case from == to:
		in = false
	case from < to:
		in = m >= from && m < to
	default: // wraps over the week's end, e.g. Fri 16:00 → Mon 08:00
		in = m >= from || m < to
	}
	if !in {
		return time.Time{}, false
	}
	days := (int(toDay) - int(t.Weekday()) + 7) % 7
	end := time.Date(t.Year(), t.Month(), t.Day()+days, toMin/60, toMin%60, 0, 0, loc)
	if !end.After(t) {
		end = time.Date(t.Year(), t.Month(), t.Day()+days+7, toMin/60, toMin%60, 0, 0, loc)
	}
	return end, true
}

func (w FreezeWindow) describe() string {
	s := fmt.Sprintf("%s until %s", w.Name, w.Until.Format("Mon 2 Jan 15:04 MST"))
	if w.Reason != "" {
		s += " (" + w.Reason + ")"
	}
	return s
}
