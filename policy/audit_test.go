package policy

import (
	"errors"
	"testing"
	"time"
)

func sampleChain() []Event {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	var out []Event
	var prev *Event
	for i, ev := range []Event{
		{Time: t0, Repo: "parcelflow/data", PR: 7, Actor: "conveyor", Action: "policy", Decision: "success", Membership: map[string][]string{"devops": {"dave", "erin"}}},
		{Time: t0.Add(time.Minute), Repo: "parcelflow/data", PR: 7, Actor: "carol", Action: "promote", Env: "prod", Delivery: "d-1", InputsHash: "sha256:aa", Decision: "refused", Reasons: []string{"soak: 10m of 1h"}},
		{Time: t0.Add(2 * time.Minute), Repo: "parcelflow/data", PR: 7, Actor: "dave", Action: "promote", Env: "prod", Delivery: "d-2", Decision: "allowed", BreakGlass: true, Reasons: []string{"freeze: BYPASSED"}},
	} {
		out = append(out, Chain(prev, ev))
		prev = &out[i]
	}
	return out
}

func TestChainAndVerify(t *testing.T) {
	chain := sampleChain()
	if err := VerifyChain(chain); err != nil {
		t.Fatal(err)
	}
	if chain[0].PrevHash != GenesisHash || chain[1].PrevHash != chain[0].Hash || chain[2].Seq != 3 {
		t.Fatalf("bad links: %+v", chain)
	}
	if chain[0].Time.Location() != time.UTC {
		t.Error("time not normalised to UTC")
	}
	tests := []struct {
		name   string
		tamper func(c []Event) []Event
		seq    int64
	}{
		{"changed decision", func(c []Event) []Event { c[1].Decision = "allowed"; return c }, 2},
		{"changed reason", func(c []Event) []Event { c[1].Reasons[0] = "fine"; return c }, 2},
		{"changed membership", func(c []Event) []Event { c[0].Membership["devops"] = []string{"mallory"}; return c }, 1},
		{"changed time", func(c []Event) []Event { c[2].Time = c[2].Time.Add(time.Nanosecond); return c }, 3},
		{"break-glass hidden", func(c []Event) []Event { c[2].BreakGlass = false; return c }, 3},
		{"rehashed after a change", func(c []Event) []Event { c[1].Actor = "eve"; c[1].Hash = c[1].ComputeHash(); return c }, 3},
		{"deleted event", func(c []Event) []Event { return append(c[:1], c[2:]...) }, 3},
		{"swapped events", func(c []Event) []Event { c[1], c[2] = c[2], c[1]; return c }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyChain(tt.tamper(cloneChain(sampleChain())))
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Seq != tt.seq {
				t.Errorf("got %v, want a break at %d", err, tt.seq)
			}
		})
	}
}

func cloneChain(c []Event) []Event {
	out := make([]Event, len(c))
	for i, e := range c {
		e.Reasons = append([]string(nil), e.Reasons...)
		if e.Membership != nil {
			m := map[string][]string{}
			for k, v := range e.Membership {
				m[k] = append([]string(nil), v...)
			}
			e.Membership = m
		}
		out[i] = e
	}
	return out
}

func TestEmptyAndNilFieldsHashAlike(t *testing.T) {
	a := Event{Actor: "x", Action: "y", Decision: "z"}
	b := a
	b.Reasons, b.Membership = []string{}, map[string][]string{}
	if a.ComputeHash() != b.ComputeHash() {
		t.Error("nil and empty must hash the same, or a store round trip breaks the chain")
	}
}

func TestHashInputs(t *testing.T) {
	h1, err := HashInputs(map[string]any{"b": 1, "a": []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashInputs(map[string]any{"a": []string{"x"}, "b": 1})
	h3, _ := HashInputs(map[string]any{"a": []string{"y"}, "b": 1})
	if h1 != h2 || h1 == h3 || len(h1) != len("sha256:")+64 {
		t.Errorf("h1 %s h2 %s h3 %s", h1, h2, h3)
	}
	if _, err := HashInputs(func() {}); err == nil {
		t.Error("an unencodable input must be an error")
	}
}
