package summary

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schemas holds the JSON Schema files, schema/<kind>.schema.json plus
// schema/common.schema.json.
//
//go:embed schema/*.schema.json
var Schemas embed.FS

// SchemaID is the $id of the schema of kind k.
func SchemaID(k Kind) string { return fmt.Sprintf("https://laned.dev/schema/%s/%d", k, SchemaVersion) }

var compiled struct {
	once sync.Once
	m    map[Kind]*jsonschema.Schema
	err  error
}

func compile() (map[Kind]*jsonschema.Schema, error) {
	compiled.once.Do(func() {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		files := append([]string{"common"}, func() (s []string) {
			for _, k := range Kinds() {
				s = append(s, string(k))
			}
			return
		}()...)
		for _, f := range files {
			b, err := Schemas.ReadFile("schema/" + f + ".schema.json")
			if err != nil {
				compiled.err = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				compiled.err = fmt.Errorf("summary: schema %s: %w", f, err)
				return
			}
			if err := c.AddResource(SchemaID(Kind(f)), doc); err != nil {
				compiled.err = fmt.Errorf("summary: schema %s: %w", f, err)
				return
			}
		}
		compiled.m = map[Kind]*jsonschema.Schema{}
		for _, k := range Kinds() {
			s, err := c.Compile(SchemaID(k))
			if err != nil {
				compiled.err = fmt.Errorf("summary: compile schema %s: %w", k, err)
				return
			}
			compiled.m[k] = s
		}
	})
	return compiled.m, compiled.err
}

// ValidateJSON validates an encoded, published payload against the JSON
// Schema of its kind (independently of the Go decoder).
func ValidateJSON(b []byte) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	m, err := compile()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("summary: validate %s: %w", k, err)
	}
	if err := m[k].Validate(inst); err != nil {
		return fmt.Errorf("summary: %s does not match its schema: %w", k, err)
	}
	return nil
}
