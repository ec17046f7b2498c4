package sensor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Board is a board profile: firmware-config/boards/<name>.yaml, the
// booth computer's wiring of loops, curtains and outputs to GPIO lines.
type Board struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description,omitempty"`
	Inputs      []InputConfig  `yaml:"inputs,omitempty"`
	Outputs     []OutputConfig `yaml:"outputs,omitempty"`
}

// LoadBoard reads dir/<name>.yaml strictly and validates it.
func LoadBoard(dir, name string) (Board, error) {
	var b Board
	if !nameRE.MatchString(name) {
		return b, fmt.Errorf("board profile %q: not a profile name", name)
	}
	path := filepath.Join(dir, name+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return b, fmt.Errorf("board profile: %w", err)
	}
	return ParseBoard(path, name, data)
}

// ParseBoard decodes and validates a board profile's YAML; path is for
// errors, name the name it must declare.
func ParseBoard(path, name string, data []byte) (Board, error) {
	var b Board
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("board profile %s: %w", path, err)
	}
	if b.Name != name {
		return b, fmt.Errorf("board profile %s: name %q, want %q (the file name)", path, b.Name, name)
	}
	c := Config{Inputs: b.Inputs, Outputs: b.Outputs, Key: "board " + name}.WithDefaults()
	if err := c.Validate(); err != nil {
		return b, fmt.Errorf("board profile %s: %w", path, err)
	}
	return b, nil
}

// WithBoard returns c with b's inputs and outputs first; c's entries with
// the same name replace the board's, others are added.
func (c Config) WithBoard(b Board) Config {
	in := append([]InputConfig(nil), b.Inputs...)
	for _, x := range c.Inputs {
		replaced := false
		for i := range in {
			if in[i].Name == x.Name {
				in[i], replaced = x, true
			}
		}
		if !replaced {
			in = append(in, x)
		}
	}
	out := append([]OutputConfig(nil), b.Outputs...)
	for _, x := range c.Outputs {
		replaced := false
		for i := range out {
			if out[i].Name == x.Name {
				out[i], replaced = x, true
			}
		}
		if !replaced {
			out = append(out, x)
		}
	}
	c.Inputs, c.Outputs = in, out
	return c
}
