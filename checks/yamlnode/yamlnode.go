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
