package console

import (
	"bytes"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces a secret in every output.
const Redacted = "<redacted>"

// minSecret is the shortest value the output filter scrubs: shorter values
// would garble ordinary text, and configuration refuses such secrets.
const minSecret = 4

// secretKey matches configuration keys whose values are secrets. Keys that
// name a file or directory holding a secret (key_file, password_file) are
// paths, not secrets, and stay visible.
var secretKey = regexp.MustCompile(`(?i)(pass(word|phrase)?|secret|token|private|credential|(^|_)key$|^psk$|auth)`)
var pathKey = regexp.MustCompile(`(?i)(_file|_path|_dir|_credential_name)$`)

// IsSecretKey reports whether a configuration key holds a secret value.
func IsSecretKey(k string) bool { return secretKey.MatchString(k) && !pathKey.MatchString(k) }

// Redactor removes secrets from console output: by key in configuration
// trees, and by value in every line any transport writes.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret containing another goes whole
}

// NewRedactor returns a redactor that scrubs the given secret values.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secret values (a credential loaded later).
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) >= minSecret {
			r.secrets = append(r.secrets, s)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// Tree returns a copy of a configuration tree with secret keys' values and
// secret values replaced.
func (r *Redactor) Tree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if IsSecretKey(k) && !isEmpty(val) {
				out[k] = Redacted
				continue
			}
			out[k] = r.Tree(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = r.Tree(val)
		}
		return out
	case string:
		return r.String(t)
	default:
		return v
	}
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	}
	return false
}

// Writer returns a line-buffered writer that scrubs secrets before they
// reach w. Flush writes a trailing partial line.
func (r *Redactor) Writer(w io.Writer) *RedactWriter { return &RedactWriter{r: r, w: w} }

// RedactWriter is the output filter of every transport.
type RedactWriter struct {
	r   *Redactor
	w   io.Writer
	buf []byte
}

// Write buffers p and writes each complete line, scrubbed.
func (rw *RedactWriter) Write(p []byte) (int, error) {
	rw.buf = append(rw.buf, p...)
	for {
		i := bytes.IndexByte(rw.buf, '\n')
		if i < 0 {
			break
		}
		line := rw.r.String(string(rw.buf[:i+1]))
		rw.buf = rw.buf[i+1:]
		if _, err := io.WriteString(rw.w, line); err != nil {
			return len(p), err
		}
	}
	// A very long line without a newline is flushed in pieces; a secret
	// straddling the cut is still caught by keeping the tail.
	const maxPending = 4096
	if len(rw.buf) > maxPending {
		keep := 256
		head := rw.r.String(string(rw.buf[:len(rw.buf)-keep]))
		rw.buf = append([]byte(nil), rw.buf[len(rw.buf)-keep:]...)
		if _, err := io.WriteString(rw.w, head); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (rw *RedactWriter) Flush() error {
	if len(rw.buf) == 0 {
		return nil
	}
	s := rw.r.String(string(rw.buf))
	rw.buf = rw.buf[:0]
	_, err := io.WriteString(rw.w, s)
	return err
}
