package summary

import (
	"bytes"
	"embed"
	"encoding/json"
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
func SchemaID(k Kind) string { return schemaIDv(k, VersionOf(k)) }

func schemaIDv(k Kind, v int) string { return fmt.Sprintf("https://laned.dev/schema/%s/%d", k, v) }

// schemaFile is one schema document: file name under schema/, kind, version.
type schemaFile struct {
	file string
	kind Kind
	ver  int
}

// schemaFiles lists every schema document. The current version of a kind
// is schema/<kind>.schema.json; an older version still accepted is
// schema/<kind>.v<N>.schema.json.
func schemaFiles() []schemaFile {
	fs := []schemaFile{{"common", "common", 1}}
	for _, k := range Kinds() {
		fs = append(fs, schemaFile{string(k), k, VersionOf(k)})
	}
	return append(fs, schemaFile{"transaction.v1", KindTransaction, 1})
}

type schemaKey struct {
	kind Kind
	ver  int
}

var compiled struct {
	once sync.Once
	m    map[schemaKey]*jsonschema.Schema
	err  error
}

func compile() (map[schemaKey]*jsonschema.Schema, error) {
	compiled.once.Do(func() {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		for _, f := range schemaFiles() {
			b, err := Schemas.ReadFile("schema/" + f.file + ".schema.json")
			if err != nil {
				compiled.err = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				compiled.err = fmt.Errorf("summary: schema %s: %w", f.file, err)
				return
			}
			if err := c.AddResource(schemaIDv(f.kind, f.ver), doc); err != nil {
				compiled.err = fmt.Errorf("summary: schema %s: %w", f.file, err)
				return
			}
		}
		compiled.m = map[schemaKey]*jsonschema.Schema{}
		for _, f := range schemaFiles()[1:] {
			s, err := c.Compile(schemaIDv(f.kind, f.ver))
			if err != nil {
				compiled.err = fmt.Errorf("summary: compile schema %s: %w", f.file, err)
				return
			}
			compiled.m[schemaKey{f.kind, f.ver}] = s
		}
	})
	return compiled.m, compiled.err
}

// ValidateJSON validates an encoded, published payload against the JSON
// Schema of its kind and schema_version (independently of the Go decoder).
func ValidateJSON(b []byte) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	m, err := compile()
	if err != nil {
		return err
	}
	var h struct {
		V int `json:"schema_version"`
	}
	_ = json.Unmarshal(b, &h) // PeekKind parsed it already
	s := m[schemaKey{k, h.V}]
	if s == nil {
		s = m[schemaKey{k, VersionOf(k)}] // reports the version mismatch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("summary: validate %s: %w", k, err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("summary: %s does not match its schema: %w", k, err)
	}
	return nil
}
