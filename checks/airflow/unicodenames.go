package airflow

import (
	"strconv"
	"strings"
	"sync"

	"golang.org/x/text/unicode/runenames"
)

// knownUnicodeName reports whether Python accepts name in a `\N{name}`
// escape: a character name (in any letter case), an alias from Unicode's
// NameAliases.txt, or an algorithmic CJK ideograph or Hangul syllable name.
// The name table is Unicode 15's, newer than Python 3.11's 14: a name added
// in 15 passes here and fails there, never the other way round.
func knownUnicodeName(name string) bool {
	for j := 0; j < len(name); j++ {
		if name[j] >= 0x80 {
			return false
		}
	}
	name = strings.ToUpper(name)
	if hex, ok := strings.CutPrefix(name, "CJK UNIFIED IDEOGRAPH-"); ok {
		r, err := strconv.ParseUint(hex, 16, 32)
		return err == nil && (len(hex) == 4 || len(hex) == 5) && strings.HasPrefix(runenames.Name(rune(r)), "<CJK Ideograph")
	}
	if syl, ok := strings.CutPrefix(name, "HANGUL SYLLABLE "); ok {
		return hangulSyllable(syl)
	}
	if _, ok := unicodeNames()[name]; ok {
		return true
	}
	_, ok := unicodeAliases()[name]
	return ok
}

// unicodeNames indexes every character name by name. Building it walks the
// assigned planes once (tens of milliseconds), so it happens on the first
// `\N{…}` escape seen by the process, and the table is never written again.
var unicodeNames = sync.OnceValue(func() map[string]struct{} {
	names := make(map[string]struct{}, 40000)
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			if n := runenames.Name(r); n != "" && n[0] != '<' {
				names[n] = struct{}{}
			}
		}
	}
	add(0, 0x3FFFF)
	add(0xE0000, 0xE01EF)
	return names
})

var unicodeAliases = sync.OnceValue(func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, a := range strings.Split(nameAliases, "\n") {
		if a != "" {
			m[a] = struct{}{}
		}
	}
	return m
})

// Hangul syllable names are composed from the short names of their jamo
// (Unicode chapter 3.12): a leading consonant, a vowel, an optional trailing
// consonant.
var (
	hangulL = []string{"G", "GG", "N", "D", "DD", "R", "M", "B", "BB", "S", "SS", "", "J", "JJ", "C", "K", "T", "P", "H"}
	hangulV = []string{"A", "AE", "YA", "YAE", "EO", "E", "YEO", "YE", "O", "WA", "WAE", "OE", "YO", "U", "WEO", "WE", "WI", "YU", "EU", "YI", "I"}
	hangulT = []string{"", "G", "GG", "GS", "N", "NJ", "NH", "D", "L", "LG", "LM", "LB", "LS", "LT", "LP", "LH", "M", "B", "BS", "S", "SS", "NG", "J", "C", "K", "T", "P", "H"}
)

func hangulSyllable(s string) bool {
	for _, l := range hangulL {
		rest, ok := strings.CutPrefix(s, l)
		if !ok {
			continue
		}
		for _, v := range hangulV {
			tail, ok := strings.CutPrefix(rest, v)
			if !ok {
				continue
			}
			for _, t := range hangulT {
				if tail == t {
					return true
				}
			}
		}
	}
	return false
}
