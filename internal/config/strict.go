package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

func typeOf(v any) reflect.Type { return reflect.TypeOf(v) }

// strict walks the YAML tree against t and returns an error listing every
// key t has no field for, by path. lines maps each value's line to its
// path, so decode errors (which only give a line) can name the key too.
func strict(n *yaml.Node, t reflect.Type, path string, lines map[int]string) error {
	var errs []error
	walk(n, t, path, lines, &errs)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

func walk(n *yaml.Node, t reflect.Type, path string, lines map[int]string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		*errs = append(*errs, fmt.Errorf("%s: YAML aliases are not allowed in laned's config (line %d)", orTop(path), n.Line))
		return
	}
	if path != "" {
		lines[n.Line] = path
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.String() == "time.Time" {
			return
		}
		if n.Kind != yaml.MappingNode {
			if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
				*errs = append(*errs, fmt.Errorf("%s: want a mapping of keys, got %s (line %d)", orTop(path), kindName(n), n.Line))
			}
			return
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if seen[k.Value] {
				*errs = append(*errs, fmt.Errorf("%s: key given twice (line %d)", p, k.Line))
				continue
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s: unknown key (line %d)%s", p, k.Line, suggest(k.Value, fields)))
				continue
			}
			walk(v, ft, p, lines, errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				walk(c, t.Elem(), path+"["+strconv.Itoa(i)+"]", lines, errs)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), lines, errs)
			}
		}
	}
}

func orTop(p string) string {
	if p == "" {
		return "(top level)"
	}
	return p
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// yamlFields maps the yaml key names of struct t to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

// suggest names the known keys an unknown one may have meant: those it
// starts (window → window_length, window_start), else one within two edits.
func suggest(key string, fields map[string]reflect.Type) string {
	var pre []string
	for k := range fields {
		if len(key) >= 3 && strings.HasPrefix(k, key) {
			pre = append(pre, strconv.Quote(k))
		}
	}
	if len(pre) > 0 {
		sort.Strings(pre)
		return "; did you mean " + strings.Join(pre, " or ") + "?"
	}
	best, bestD := "", 3
	for k := range fields {
		if d := distance(key, k); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var reLine = regexp.MustCompile(`line (\d+): `)

// withPaths adds the key path to yaml.v3's "line N: ..." messages.
func withPaths(err error, lines map[int]string) error {
	msg := reLine.ReplaceAllStringFunc(err.Error(), func(s string) string {
		n, _ := strconv.Atoi(reLine.FindStringSubmatch(s)[1])
		if p, ok := lines[n]; ok {
			return p + " (line " + strconv.Itoa(n) + "): "
		}
		return s
	})
	return errors.New(msg)
}
