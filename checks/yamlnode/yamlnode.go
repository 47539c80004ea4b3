// Package yamlnode reads yaml.v3 node trees while keeping each value's line
// and column, for the validators whose errors must point at a line (dbt
// properties files, ODCS contracts).
package yamlnode

import "gopkg.in/yaml.v3"

// Get returns the value of key in a mapping node, or nil.
func Get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value == key {
			return n.Content[k+1]
		}
	}
	return nil
}

// Scalar returns a scalar node's value, or "" for null, missing or non-scalar nodes.
func Scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// Mappings returns the mapping entries of a list node. A value that is not a
// list, or an entry that is not a mapping, is reported through bad with what
// names the list; null or missing is an empty list.
func Mappings(n *yaml.Node, what string, bad func(*yaml.Node, string, ...any)) []*yaml.Node {
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad(n, "%s must be a list", what)
		return nil
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			bad(item, "each entry of %s must be a mapping", what)
			continue
		}
		out = append(out, item)
	}
	return out
}

// MaxExpandedNodes bounds how many nodes a document may stand for once its
// aliases are expanded. yaml.v3 checks aliasing only when decoding into Go
// values, not into a Node tree, so a walker that follows aliases would
// otherwise loop forever on a self-referring anchor or blow up on nested
// aliases ("billion laughs").
const MaxExpandedNodes = 1 << 20

// CheckAliases reports the alias node that makes n unsafe to walk with
// aliases followed: one that refers to an ancestor of itself (a cycle), or
// one past which the expanded document would exceed MaxExpandedNodes nodes.
// It returns nil and "" when n is safe.
func CheckAliases(n *yaml.Node) (*yaml.Node, string) {
	c := aliasCheck{size: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	c.walk(n)
	return c.bad, c.why
}

type aliasCheck struct {
	size map[*yaml.Node]int // expanded size of each finished node
	open map[*yaml.Node]bool
	bad  *yaml.Node
	why  string
}

func (c *aliasCheck) walk(n *yaml.Node) int {
	if n == nil || c.bad != nil {
		return 0
	}
	if s, ok := c.size[n]; ok {
		return s
	}
	if c.open[n] {
		return 0 // reported by the alias that led here
	}
	c.open[n] = true
	total := 1
	if n.Kind == yaml.AliasNode {
		if c.open[n.Alias] {
			c.bad, c.why = n, "the alias *"+n.Value+" refers to a value that contains it"
			return 0
		}
		total += c.walk(n.Alias)
	}
	for _, child := range n.Content {
		total += c.walk(child)
		if total > MaxExpandedNodes && c.bad == nil {
			c.bad, c.why = n, "the aliases expand the document past the limit of nodes"
		}
		if c.bad != nil {
			return 0
		}
	}
	if total > MaxExpandedNodes && c.bad == nil {
		c.bad, c.why = n, "the aliases expand the document past the limit of nodes"
	}
	delete(c.open, n)
	c.size[n] = total
	return total
}
