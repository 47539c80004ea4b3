package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is where a YAML node starts. A struct with a field `Pos Pos` gets the
// position of its mapping filled in by the strict decoder, so later semantic
// checks can point at the right line.
type Pos struct {
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

// Error is one problem in a config file, located precisely enough for an
// editor or a check-run annotation.
type Error struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Key    string `json:"key,omitempty"`
	Msg    string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// AsErrors unpacks err into located config errors, or nil when err carries none.
func AsErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

var posType = reflect.TypeOf(Pos{})

// decodeStrict decodes data into out, rejecting unknown keys, duplicate keys
// and values of the wrong type, each reported with line, column and key path.
func decodeStrict(file string, data []byte, out any) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil // an empty file is an empty config
		}
		return &Error{File: file, Line: yamlErrLine(err), Column: 1, Msg: cleanYAMLErr(err)}
	}
	d := &strictDecoder{file: file}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.decode(root, reflect.ValueOf(out).Elem(), "")
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool {
			if d.errs[i].Line != d.errs[j].Line {
				return d.errs[i].Line < d.errs[j].Line
			}
			return d.errs[i].Column < d.errs[j].Column
		})
		return d.errs
	}
	return nil
}

type strictDecoder struct {
	file string
	errs Errors
}

func (d *strictDecoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Column: n.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

func (d *strictDecoder) decode(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // explicit null keeps the zero value
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, key, "%s", cleanYAMLErr(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), key)
	case reflect.Struct:
		d.decodeStruct(n, v, key)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			// A single scalar where a list is expected is accepted as a list of one:
			// `teams: devops` reads as naturally as `teams: [devops]`.
			if n.Kind == yaml.ScalarNode {
				elem := reflect.New(v.Type().Elem()).Elem()
				d.decode(n, elem, key)
				v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), elem))
				return
			}
			d.fail(n, key, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, key, "expected a mapping, got %s", kindName(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if seen[k.Value] {
				d.fail(k, joinKey(key, k.Value), "duplicate key")
				continue
			}
			seen[k.Value] = true
			mk := reflect.New(v.Type().Key()).Elem()
			d.decode(k, mk, joinKey(key, k.Value))
			mv := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, mv, joinKey(key, k.Value))
			v.SetMapIndex(mk, mv)
		}
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, key, "%s", cleanYAMLErr(err))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, key, "expected a %s, got %s", v.Kind(), kindName(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, key, "expected a %s, got %q", v.Kind(), n.Value)
		}
	}
}

func (d *strictDecoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "expected a mapping, got %s", kindName(n))
		return
	}
	fields := map[string]reflect.Value{}
	var names []string
	collectFields(n, v, fields, &names)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		full := joinKey(key, k.Value)
		field, ok := fields[k.Value]
		if !ok {
			d.fail(k, full, "unknown key (known keys: %s)", strings.Join(names, ", "))
			continue
		}
		if seen[k.Value] {
			d.fail(k, full, "duplicate key")
			continue
		}
		seen[k.Value] = true
		d.decode(val, field, full)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func cleanYAMLErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n  ")
	if i := strings.Index(s, ": "); strings.HasPrefix(s, "line ") && i > 0 {
		s = s[i+2:]
	}
	return s
}

func yamlErrLine(err error) int {
	var line int
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, e := fmt.Sscanf(s, "line %d:", &line); e == nil {
		return line
	}
	return 0
}

// collectFields maps each YAML key of struct v to its field, descending into
// `yaml:",inline"` structs so shared settings can be embedded.
func collectFields(n *yaml.Node, v reflect.Value, fields map[string]reflect.Value, names *[]string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == posType && f.Name == "Pos" {
			v.Field(i).Set(reflect.ValueOf(Pos{Line: n.Line, Column: n.Column}))
			continue
		}
		parts := strings.Split(f.Tag.Get("yaml"), ",")
		tag := parts[0]
		if tag == "-" || !f.IsExported() {
			continue
		}
		if len(parts) > 1 && parts[1] == "inline" && f.Type.Kind() == reflect.Struct {
			collectFields(n, v.Field(i), fields, names)
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		fields[tag] = v.Field(i)
		*names = append(*names, tag)
	}
}
