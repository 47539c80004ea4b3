package odcs

import (
	"regexp"
	"strconv"
	"strings"
)

var typeParams = regexp.MustCompile(`^\s*([a-z_ ]+?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$`)

// Family maps a physical type (Snowflake, DuckDB, dbt data_type) to the ODCS
// logical type it holds; "" when unknown.
func Family(physical string) string {
	t := strings.ToLower(strings.TrimSpace(physical))
	m := typeParams.FindStringSubmatch(t)
	base := t
	if m != nil {
		base = strings.TrimSpace(m[1])
	}
	switch base {
	case "varchar", "text", "string", "char", "character", "character varying", "nvarchar", "nchar", "uuid", "bpchar":
		return "string"
	case "int", "integer", "bigint", "smallint", "tinyint", "byteint", "hugeint", "int2", "int4", "int8", "ubigint", "uinteger", "usmallint", "utinyint":
		return "integer"
	case "number", "numeric", "decimal":
		if m != nil && m[2] != "" && (m[3] == "" || m[3] == "0") {
			return "integer"
		}
		return "number"
	case "float", "float4", "float8", "double", "double precision", "real":
		return "number"
	case "date":
		return "date"
	case "time":
		return "time"
	case "boolean", "bool":
		return "boolean"
	case "variant", "object", "struct", "map", "json":
		return "object"
	case "array", "list":
		return "array"
	}
	if strings.HasPrefix(base, "timestamp") || base == "datetime" {
		return "timestamp"
	}
	if strings.HasSuffix(t, "[]") {
		return "array"
	}
	return ""
}

// Compatible reports whether a column of physical type can carry values of
// the contract's logical type (an integer column satisfies "number").
func Compatible(logical, physical string) bool {
	f := Family(physical)
	if f == "" || logical == "" {
		return true // unknown either side: nothing to say
	}
	return f == logical || logical == "number" && f == "integer"
}

// Widens reports whether changing a property's type from old to new keeps
// every value the old type allowed. Physical types are compared by length and
// precision when both are given; logical types otherwise.
func Widens(oldLogical, oldPhysical, newLogical, newPhysical string) bool {
	if oldPhysical != "" && newPhysical != "" {
		o, n := typeParams.FindStringSubmatch(strings.ToLower(oldPhysical)), typeParams.FindStringSubmatch(strings.ToLower(newPhysical))
		if o != nil && n != nil && Family(oldPhysical) == Family(newPhysical) && Family(oldPhysical) != "" {
			return atLeast(n[2], o[2]) && atLeast(n[3], o[3])
		}
		if Family(oldPhysical) != Family(newPhysical) {
			return widerLogical(Family(oldPhysical), Family(newPhysical))
		}
	}
	ol, nl := oldLogical, newLogical
	if ol == "" {
		ol = Family(oldPhysical)
	}
	if nl == "" {
		nl = Family(newPhysical)
	}
	return widerLogical(ol, nl)
}

func widerLogical(o, n string) bool {
	switch {
	case o == n:
		return true
	case n == "string":
		return true
	case o == "integer" && n == "number":
		return true
	case o == "date" && n == "timestamp":
		return true
	}
	return false
}

// atLeast compares optional size parameters: none means unbounded.
func atLeast(newP, oldP string) bool {
	if newP == "" {
		return true
	}
	if oldP == "" {
		return false
	}
	a, _ := strconv.Atoi(newP)
	b, _ := strconv.Atoi(oldP)
	return a >= b
}
