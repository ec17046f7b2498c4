package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// EnvDir names the environment variable that overrides the model directory.
const EnvDir = "LANED_MODEL_DIR"

// InstalledDir is where a packaged laned keeps its models.
const InstalledDir = "/var/lib/laned/models"

// ErrNotFetched reports a model file that is not in the cache; the message
// tells the user how to fetch it.
var ErrNotFetched = errors.New("model file missing (run 'laned models fetch' or the README's set-up command)")

// Dir returns the model cache directory: $LANED_MODEL_DIR if set, else
// models/cache in the checkout that contains the working directory, else the
// installed location.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return filepath.Abs(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locate model directory: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "models", "manifest.json")); err == nil {
			return filepath.Join(d, "models", "cache"), nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return InstalledDir, nil
}

// Set is a model cache directory checked against a manifest.
type Set struct {
	dir string
	m   *Manifest

	mu       sync.Mutex
	verified map[string]string // dest → "size/mtime" it was verified at
}

// Open returns the set in dir checked against the embedded manifest. It does
// not touch the files; Path verifies each on first use.
func Open(dir string) (*Set, error) {
	m, err := Embedded()
	if err != nil {
		return nil, err
	}
	return &Set{dir: dir, m: m, verified: map[string]string{}}, nil
}

// OpenDefault opens the set in Dir().
func OpenDefault() (*Set, error) {
	d, err := Dir()
	if err != nil {
		return nil, err
	}
	return Open(d)
}

// Dir is the set's directory.
func (s *Set) Dir() string { return s.dir }

// Path returns the absolute path of the cache file dest (as named in the
// manifest) after checking it is there and unaltered: its sha256 must match
// the manifest, or for a converted file without a pinned checksum, the stamp
// written when it was converted.
func (s *Set) Path(dest string) (string, error) {
	want, listed := s.m.expected(dest)
	if !listed {
		return "", fmt.Errorf("model %q is not in the manifest", dest)
	}
	p := filepath.Join(s.dir, filepath.FromSlash(dest))
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", p, ErrNotFetched)
		}
		return "", fmt.Errorf("model %s: %w", p, err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return "", fmt.Errorf("model %s: not a regular non-empty file", p)
	}
	key := fmt.Sprintf("%d/%d", st.Size(), st.ModTime().UnixNano())
	s.mu.Lock()
	ok := s.verified[dest] == key
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	if want == "" {
		if want, err = readStamp(p); err != nil {
			return "", err
		}
	}
	got, err := fileSHA256(p)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", p, err)
	}
	if got != want {
		return "", fmt.Errorf("model %s: altered or corrupt: sha256 %s, want %s (run 'laned models fetch' to restore it)", p, got, want)
	}
	s.mu.Lock()
	s.verified[dest] = key
	s.mu.Unlock()
	return p, nil
}

// stampPath is where the checksum of a converted file is recorded.
func stampPath(p string) string { return p + ".sha256" }

func readStamp(p string) (string, error) {
	b, err := os.ReadFile(stampPath(p))
	if err != nil {
		return "", fmt.Errorf("model %s: no checksum stamp beside it (%v): %w", p, err, ErrNotFetched)
	}
	sum := strings.TrimSpace(string(b))
	if !isSHA256(sum) {
		return "", fmt.Errorf("model %s: checksum stamp %s is malformed", p, stampPath(p))
	}
	return sum, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
