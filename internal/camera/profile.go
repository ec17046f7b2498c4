package camera

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Profile is a camera model's settings, a YAML file in
// firmware-config/cameras/<name>.yaml: the mode it runs best in and the
// V4L2 controls for a lane (fixed exposure short enough to freeze a
// moving face, gain for a dark booth, fixed white balance and focus,
// mains frequency against flicker).
type Profile struct {
	Name        string           `yaml:"name"`
	Description string           `yaml:"description,omitempty"`
	Match       []string         `yaml:"match,omitempty"` // V4L2 card names it fits
	Format      string           `yaml:"format,omitempty"`
	Width       int              `yaml:"width,omitempty"`
	Height      int              `yaml:"height,omitempty"`
	FPS         float64          `yaml:"fps,omitempty"`
	Controls    map[string]int32 `yaml:"controls,omitempty"`
}

// LoadProfile reads dir/<name>.yaml strictly (unknown keys refused) and
// checks its control names and format.
func LoadProfile(dir, name string) (Profile, error) {
	var p Profile
	if !nameRE.MatchString(name) {
		return p, fmt.Errorf("camera profile %q: not a profile name", name)
	}
	path := filepath.Join(dir, name+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("camera profile: %w", err)
	}
	return ParseProfile(path, name, data)
}

// ParseProfile decodes and checks a camera profile's YAML; path is for
// errors, name the name it must declare.
func ParseProfile(path, name string, data []byte) (Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("camera profile %s: %w", path, err)
	}
	var errs []error
	if p.Name != name {
		errs = append(errs, fmt.Errorf("camera profile %s: name %q, want %q (the file name)", path, p.Name, name))
	}
	if p.Format != "" {
		if _, err := ParseFormat(p.Format); err != nil {
			errs = append(errs, fmt.Errorf("camera profile %s: format: %w", path, err))
		}
	}
	for c := range p.Controls {
		if _, ok := controlByName[c]; !ok {
			errs = append(errs, fmt.Errorf("camera profile %s: controls.%s: unknown control (known: %s)", path, c, strings.Join(ControlNames(), ", ")))
		}
	}
	return p, errors.Join(errs...)
}

// WithProfile returns c with p's mode filling c's unset fields and p's
// controls under c's own (c wins). Call before WithDefaults.
func (c Config) WithProfile(p Profile) Config {
	if c.Format == "" {
		c.Format = p.Format
	}
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = p.Width, p.Height
	}
	if c.FPS == 0 {
		c.FPS = p.FPS
	}
	merged := make(map[string]int32, len(p.Controls)+len(c.Controls))
	for k, v := range p.Controls {
		merged[k] = v
	}
	for k, v := range c.Controls {
		merged[k] = v
	}
	c.Controls = merged
	return c
}
