// Package odcs reads data contracts in the Open Data Contract Standard
// (ODCS) v3 format. Every problem carries the file, line and column so it can
// be shown on the exact line of a pull request.
package odcs

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcelflow/conveyor/checks/yamlnode"
)

// APIVersions are the ODCS versions this reader accepts.
var APIVersions = []string{"v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0"}

// LogicalTypes are ODCS v3's logical types.
var LogicalTypes = []string{"string", "date", "timestamp", "time", "number", "integer", "object", "array", "boolean"}

// Contract is one ODCS data contract.
type Contract struct {
	Path        string `json:"path"`
	APIVersion  string `json:"api_version"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Status      string `json:"status"`
	Domain      string `json:"domain,omitempty"`
	DataProduct string `json:"data_product,omitempty"`
	// OwnerTeam is the producing team (team.name, or the ownerTeam custom property).
	OwnerTeam string     `json:"owner_team"`
	Consumers []Consumer `json:"consumers"`
	Schema    []Object   `json:"schema"`
	SLA       []SLA      `json:"sla"`
	// SchemaLine is the line of the schema key, where a dataset removed
	// from the contract used to be listed.
	SchemaLine int `json:"schema_line,omitempty"`
}

// Consumer is a team that reads the data and must agree to breaking changes.
type Consumer struct {
	Team string `json:"team"`
	Use  string `json:"use,omitempty"`
	Line int    `json:"line"`
}

// Object is a dataset (table) in the contract's schema.
type Object struct {
	Name         string     `json:"name"`
	PhysicalName string     `json:"physical_name,omitempty"`
	PhysicalType string     `json:"physical_type,omitempty"`
	DbtModel     string     `json:"dbt_model,omitempty"`
	DbtSource    string     `json:"dbt_source,omitempty"`
	Properties   []Property `json:"properties"`
	Quality      []Quality  `json:"quality,omitempty"`
	Line         int        `json:"line"`
}

// Property is a column.
type Property struct {
	Name         string    `json:"name"`
	LogicalType  string    `json:"logical_type,omitempty"`
	PhysicalType string    `json:"physical_type,omitempty"`
	Required     bool      `json:"required"`
	Unique       bool      `json:"unique"`
	PrimaryKey   bool      `json:"primary_key"`
	Quality      []Quality `json:"quality,omitempty"`
	Line         int       `json:"line"`
}

// Quality is one quality rule, as declared.
type Quality struct {
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
	// Rule is v3.0's name for a library metric; Metric is v3.1's.
	Rule   string `json:"rule,omitempty"`
	Metric string `json:"metric,omitempty"`
	// ValidValues lists what invalidValues (v3.0's validValues) allows.
	ValidValues []string `json:"valid_values,omitempty"`
	// Query is a sql rule's query, returning one number.
	Query string `json:"query,omitempty"`
	// Ops are the comparisons the value must pass: mustBe, mustNotBe,
	// mustBeGreaterThan, mustBeGreaterOrEqualTo, mustBeLessThan,
	// mustBeLessOrEqualTo, and mustBeBetween / mustNotBeBetween (two numbers).
	Ops  map[string][]float64 `json:"ops,omitempty"`
	Line int                  `json:"line"`
}

// MetricName names a library rule's metric the v3.1 way, accepting v3.0's
// rule names and the common spellings of the same metric.
func (q Quality) MetricName() string {
	m := q.Metric
	if m == "" {
		m = q.Rule
	}
	switch strings.ToLower(strings.ReplaceAll(m, "_", "")) {
	case "nullvalues", "nullcheck", "notnull", "nullcount":
		return "nullValues"
	case "missingvalues":
		return "missingValues"
	case "duplicatevalues", "duplicatecount", "unique":
		return "duplicateValues"
	case "invalidvalues", "validvalues", "acceptedvalues":
		return "invalidValues"
	case "rowcount":
		return "rowCount"
	}
	return m
}

// qualityOps are the comparison keys of a quality rule.
var qualityOps = []string{"mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo", "mustBeLessThan", "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween"}

// SLA is one service-level property (freshness, latency, retention …).
type SLA struct {
	Property string `json:"property"`
	Value    string `json:"value"`
	Unit     string `json:"unit,omitempty"`
	Element  string `json:"element,omitempty"`
	Line     int    `json:"line"`
}

// Duration returns a time SLA (freshness, latency) as a duration.
func (s SLA) Duration() (time.Duration, bool) {
	v, err := strconv.ParseFloat(s.Value, 64)
	if err != nil {
		return 0, false
	}
	unit := map[string]time.Duration{"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
		"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[strings.ToLower(s.Unit)]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(v * float64(unit)), true
}

// Problem is one reason a contract file is not valid ODCS.
type Problem struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Msg    string `json:"message"`
}

func (p Problem) Error() string { return fmt.Sprintf("%s:%d:%d: %s", p.Path, p.Line, p.Column, p.Msg) }

var topKeys = keys("version", "kind", "apiVersion", "id", "name", "tenant", "tags", "status", "servers", "dataProduct", "description",
	"domain", "schema", "support", "price", "team", "roles", "slaDefaultElement", "slaProperties", "authoritativeDefinitions",
	"customProperties", "contractCreatedTs")

var objectKeys = keys("id", "name", "physicalName", "physicalType", "logicalType", "description", "businessName", "dataGranularityDescription",
	"tags", "properties", "quality", "authoritativeDefinitions", "customProperties", "relationships")

var propertyKeys = keys("id", "name", "physicalType", "physicalName", "logicalType", "logicalTypeOptions", "description", "businessName", "tags",
	"customProperties", "primaryKey", "primaryKeyPosition", "required", "unique", "partitioned", "partitionKeyPosition", "classification",
	"encryptedName", "transformSourceObjects", "transformLogic", "transformDescription", "examples", "criticalDataElement", "quality",
	"authoritativeDefinitions", "items", "properties", "relationships")

func keys(ks ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range ks {
		m[k] = true
	}
	return m
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// IsContract reports whether a YAML file looks like an ODCS contract.
func IsContract(data []byte) bool {
	return contractKind.Match(data)
}

var contractKind = regexp.MustCompile(`(?m)^kind:\s*["']?DataContract["']?\s*$`)

// Parse reads one contract. It returns the contract as far as it could be
// read and every problem found; a contract with problems is not valid ODCS.
func Parse(path string, data []byte) (*Contract, []Problem) {
	c := &Contract{Path: path}
	var probs []Problem
	bad := func(n *yaml.Node, format string, args ...any) {
		line, col := 1, 1
		if n != nil {
			line, col = n.Line, n.Column
		}
		probs = append(probs, Problem{Path: path, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 1
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return c, []Problem{{Path: path, Line: line, Column: 1, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return c, []Problem{{Path: path, Line: 1, Column: 1, Msg: "a data contract is a YAML mapping"}}
	}
	root := doc.Content[0]
	checkKeys(root, topKeys, "the contract", bad)
	str := func(n *yaml.Node, key string, required bool) string {
		v := yamlnode.Get(n, key)
		if v == nil {
			if required {
				bad(n, "%s is required", key)
			}
			return ""
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			bad(v, "%s must be a string", key)
			return ""
		}
		return v.Value
	}
	c.APIVersion = str(root, "apiVersion", true)
	if c.APIVersion != "" && !contains(APIVersions, c.APIVersion) {
		bad(yamlnode.Get(root, "apiVersion"), "apiVersion %q is not an ODCS v3 version (%s)", c.APIVersion, strings.Join(APIVersions, ", "))
	}
	if k := str(root, "kind", true); k != "" && k != "DataContract" {
		bad(yamlnode.Get(root, "kind"), "kind must be DataContract, got %q", k)
	}
	c.ID = str(root, "id", true)
	c.Version = str(root, "version", true)
	c.Status = str(root, "status", true)
	c.Name = str(root, "name", false)
	c.Domain = str(root, "domain", false)
	c.DataProduct = str(root, "dataProduct", false)

	if team := yamlnode.Get(root, "team"); team != nil {
		switch team.Kind {
		case yaml.MappingNode: // v3.1 structure
			c.OwnerTeam = yamlnode.Scalar(yamlnode.Get(team, "name"))
		case yaml.SequenceNode: // v3.0 list of members; the owner team comes from customProperties
		default:
			bad(team, "team must be a mapping with name and members (or, in v3.0, a list of members)")
		}
	}
	for _, cp := range yamlnode.Mappings(yamlnode.Get(root, "customProperties"), "customProperties", bad) {
		prop := yamlnode.Scalar(yamlnode.Get(cp, "property"))
		val := yamlnode.Get(cp, "value")
		switch prop {
		case "":
			bad(cp, "a custom property needs property and value")
		case "ownerTeam", "owner_team":
			if c.OwnerTeam == "" {
				c.OwnerTeam = yamlnode.Scalar(val)
			}
		case "consumers":
			if val == nil || val.Kind != yaml.SequenceNode {
				bad(cp, "the consumers custom property is a list of teams ({team, use} or a team slug)")
				continue
			}
			for _, it := range val.Content {
				cons := Consumer{Team: yamlnode.Scalar(it), Line: it.Line}
				if it.Kind == yaml.MappingNode {
					cons.Team, cons.Use = yamlnode.Scalar(yamlnode.Get(it, "team")), yamlnode.Scalar(yamlnode.Get(it, "use"))
				}
				if cons.Team == "" {
					bad(it, "a consumer needs a team")
					continue
				}
				c.Consumers = append(c.Consumers, cons)
			}
		}
	}
	schema := yamlnode.Get(root, "schema")
	for k := 0; k+1 < len(root.Content); k += 2 {
		if root.Content[k].Value == "schema" {
			c.SchemaLine = root.Content[k].Line
		}
	}
	if schema == nil {
		bad(root, "schema is required: the datasets this contract describes")
	}
	for _, on := range yamlnode.Mappings(schema, "schema", bad) {
		checkKeys(on, objectKeys, "a schema object", bad)
		o := Object{Name: str(on, "name", true), PhysicalName: str(on, "physicalName", false), PhysicalType: str(on, "physicalType", false), Line: on.Line}
		for _, cp := range yamlnode.Mappings(yamlnode.Get(on, "customProperties"), "customProperties", bad) {
			switch yamlnode.Scalar(yamlnode.Get(cp, "property")) {
			case "dbtModel", "dbt_model":
				o.DbtModel = yamlnode.Scalar(yamlnode.Get(cp, "value"))
			case "dbtSource", "dbt_source":
				o.DbtSource = yamlnode.Scalar(yamlnode.Get(cp, "value"))
			}
		}
		o.Quality = quality(yamlnode.Get(on, "quality"), bad)
		seen := map[string]bool{}
		for _, pn := range yamlnode.Mappings(yamlnode.Get(on, "properties"), "properties", bad) {
			checkKeys(pn, propertyKeys, "a property", bad)
			p := Property{Name: str(pn, "name", true), LogicalType: str(pn, "logicalType", false), PhysicalType: str(pn, "physicalType", false), Line: pn.Line}
			if p.Name != "" && seen[strings.ToLower(p.Name)] {
				bad(pn, "property %s is declared twice in %s", p.Name, o.Name)
			}
			seen[strings.ToLower(p.Name)] = true
			if p.LogicalType != "" && !contains(LogicalTypes, p.LogicalType) {
				bad(yamlnode.Get(pn, "logicalType"), "logicalType %q is not one of %s", p.LogicalType, strings.Join(LogicalTypes, ", "))
			}
			if p.LogicalType == "" && p.PhysicalType == "" {
				bad(pn, "property %s needs a logicalType or a physicalType", p.Name)
			}
			p.Required = boolean(pn, "required", bad)
			p.Unique = boolean(pn, "unique", bad)
			p.PrimaryKey = boolean(pn, "primaryKey", bad)
			p.Quality = quality(yamlnode.Get(pn, "quality"), bad)
			o.Properties = append(o.Properties, p)
		}
		c.Schema = append(c.Schema, o)
	}
	for _, sn := range yamlnode.Mappings(yamlnode.Get(root, "slaProperties"), "slaProperties", bad) {
		s := SLA{Property: str(sn, "property", true), Unit: str(sn, "unit", false), Element: str(sn, "element", false), Line: sn.Line}
		if v := yamlnode.Get(sn, "value"); v == nil {
			bad(sn, "an SLA property needs a value")
		} else {
			s.Value = v.Value
		}
		if s.Property == "freshness" || s.Property == "latency" {
			if _, ok := s.Duration(); !ok {
				bad(sn, "%s needs a numeric value and a time unit (s, m, h, d), got %q %q", s.Property, s.Value, s.Unit)
			}
		}
		c.SLA = append(c.SLA, s)
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return c, probs
}

func quality(n *yaml.Node, bad func(*yaml.Node, string, ...any)) []Quality {
	var out []Quality
	for _, q := range yamlnode.Mappings(n, "quality", bad) {
		qr := Quality{Name: yamlnode.Scalar(yamlnode.Get(q, "name")), Type: yamlnode.Scalar(yamlnode.Get(q, "type")),
			Rule: yamlnode.Scalar(yamlnode.Get(q, "rule")), Metric: yamlnode.Scalar(yamlnode.Get(q, "metric")),
			Query: yamlnode.Scalar(yamlnode.Get(q, "query")), Line: q.Line}
		vv := yamlnode.Get(q, "validValues")
		if args := yamlnode.Get(q, "arguments"); vv == nil && args != nil {
			vv = yamlnode.Get(args, "validValues")
		}
		if vv != nil {
			if vv.Kind != yaml.SequenceNode {
				bad(vv, "validValues must be a list")
			}
			for _, v := range vv.Content {
				qr.ValidValues = append(qr.ValidValues, v.Value)
			}
		}
		for _, op := range qualityOps {
			v := yamlnode.Get(q, op)
			if v == nil {
				continue
			}
			nums, ok := numbers(v)
			want := 1
			if strings.HasSuffix(op, "Between") {
				want = 2
			}
			if !ok || len(nums) != want {
				bad(v, "%s must be %s", op, map[int]string{1: "a number", 2: "a list of two numbers"}[want])
				continue
			}
			if qr.Ops == nil {
				qr.Ops = map[string][]float64{}
			}
			qr.Ops[op] = nums
		}
		switch qr.Type {
		case "sql":
			if strings.TrimSpace(qr.Query) == "" {
				bad(q, "a sql quality rule needs a query")
			}
			if len(qr.Ops) == 0 {
				bad(q, "a sql quality rule needs a comparison (mustBe, mustBeGreaterThan …)")
			}
		case "", "library":
			switch m := qr.MetricName(); m {
			case "":
				bad(q, "a library quality rule needs a metric")
			case "rowCount", "nullValues", "missingValues", "duplicateValues":
			case "invalidValues":
				if len(qr.ValidValues) == 0 {
					bad(q, "invalidValues needs validValues")
				}
			default:
				bad(q, "unknown quality metric %q (rowCount, nullValues, missingValues, duplicateValues, invalidValues)", m)
			}
		case "text", "custom":
		default:
			bad(q, "unknown quality rule type %q (library, sql, text, custom)", qr.Type)
		}
		out = append(out, qr)
	}
	return out
}

// numbers reads a number, or a list of numbers, from n.
func numbers(n *yaml.Node) ([]float64, bool) {
	var items []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	case yaml.SequenceNode:
		items = n.Content
	default:
		return nil, false
	}
	var out []float64
	for _, it := range items {
		f, err := strconv.ParseFloat(it.Value, 64)
		if it.Kind != yaml.ScalarNode || err != nil {
			return nil, false
		}
		out = append(out, f)
	}
	return out, true
}

func boolean(n *yaml.Node, key string, bad func(*yaml.Node, string, ...any)) bool {
	v := yamlnode.Get(n, key)
	if v == nil {
		return false
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		bad(v, "%s must be true or false, got %q", key, v.Value)
		return false
	}
	return v.Value == "true"
}

func checkKeys(n *yaml.Node, allowed map[string]bool, what string, bad func(*yaml.Node, string, ...any)) {
	for k := 0; k+1 < len(n.Content); k += 2 {
		key := n.Content[k]
		if !allowed[key.Value] {
			bad(key, "%s has no field %q in ODCS v3 (custom fields go under customProperties)", what, key.Value)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Teams returns the owner and consumer team slugs.
func (c *Contract) Teams() []string {
	out := []string{}
	if c.OwnerTeam != "" {
		out = append(out, c.OwnerTeam)
	}
	for _, cons := range c.Consumers {
		if !contains(out, cons.Team) {
			out = append(out, cons.Team)
		}
	}
	return out
}

// ConsumerTeams returns the consumer team slugs.
func (c *Contract) ConsumerTeams() []string {
	var out []string
	for _, cons := range c.Consumers {
		if !contains(out, cons.Team) {
			out = append(out, cons.Team)
		}
	}
	return out
}

// Describes reports whether schema object o is the dbt model or source named
// by relation (schema.alias), name (model name) or dbt source ID.
func (o Object) Describes(modelName, relation string) bool {
	if o.DbtModel != "" {
		return strings.EqualFold(o.DbtModel, modelName)
	}
	pn := o.PhysicalName
	if pn == "" {
		pn = o.Name
	}
	pn = strings.ToLower(strings.ReplaceAll(pn, `"`, ""))
	rel := strings.ToLower(relation)
	return pn == rel || strings.HasSuffix(pn, "."+rel) || strings.HasSuffix(rel, "."+pn)
}
