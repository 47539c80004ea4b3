package timeline

import (
	"encoding/json"
	"sort"
	"strings"
)

// Mask replaces a secret value in everything the writer sends.
const Mask = "****"

// Redactor replaces configured secret values in text. It is immutable and safe
// for concurrent use; a nil Redactor redacts nothing.
type Redactor struct {
	r       *strings.Replacer
	secrets []string
}

// NewRedactor returns a redactor of the given secret values. Empty values are
// ignored. Longer secrets are replaced first, so a secret that contains another
// is masked whole. The JSON-escaped form of each secret is masked too, since a
// payload may carry a secret inside an encoded string.
func NewRedactor(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var vals []string
	for _, s := range secrets {
		for _, form := range []string{s, jsonEscaped(s)} {
			if form != "" && !seen[form] {
				seen[form] = true
				vals = append(vals, form)
			}
		}
	}
	sort.Slice(vals, func(i, j int) bool {
		if len(vals[i]) != len(vals[j]) {
			return len(vals[i]) > len(vals[j])
		}
		return vals[i] < vals[j]
	})
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, Mask)
	}
	return &Redactor{r: strings.NewReplacer(pairs...), secrets: vals}
}

// Redact returns s with every secret value masked.
func (r *Redactor) Redact(s string) string {
	if r == nil || len(r.secrets) == 0 || s == "" {
		return s
	}
	return r.r.Replace(s)
}

// Contains reports whether s holds any secret value.
func (r *Redactor) Contains(s string) bool {
	if r == nil {
		return false
	}
	for _, v := range r.secrets {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

func jsonEscaped(s string) string {
	b, err := json.Marshal(s)
	if err != nil || len(b) < 2 {
		return ""
	}
	return string(b[1 : len(b)-1])
}
