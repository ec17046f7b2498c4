package evidence

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/vision"
)

// MaxTTL is the longest a crop may be kept.
const MaxTTL = 12 * time.Hour

// ext is the file extension of a sealed crop.
const ext = ".evd"

var (
	// ErrExpired is returned by Open for a crop past its TTL.
	ErrExpired = errors.New("evidence expired")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("evidence store closed")
)

// Store is a directory of sealed crops. Safe for concurrent use.
type Store struct {
	dir  string
	aead cipher.AEAD
	ttl  time.Duration
	clk  clock.Clock

	mu        sync.Mutex
	closed    bool
	sweepErrs atomic.Uint64
}

// SweepErrors counts the failed periodic sweeps.
func (s *Store) SweepErrors() uint64 { return s.sweepErrs.Load() }

// Open opens (creating, mode 0700) the evidence directory. key is the
// 32-byte at-rest key; ttl in (0, MaxTTL].
func Open(dir string, key []byte, ttl time.Duration, clk clock.Clock) (*Store, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("evidence: at-rest key is %d bytes, want 32", len(key))
	}
	if ttl <= 0 || ttl > MaxTTL {
		return nil, fmt.Errorf("evidence: ttl %s out of range (0, %s]", ttl, MaxTTL)
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("evidence: %s is not a directory", dir)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	s := &Store{dir: dir, aead: aead, ttl: ttl, clk: clk}
	if _, err := s.Sweep(); err != nil {
		return nil, err
	}
	return s, nil
}

// meta is the sealed header of a crop.
type meta struct {
	TransactionID string    `json:"transaction_id"`
	Occupant      int       `json:"occupant"`
	Camera        string    `json:"camera"`
	At            time.Time `json:"at"`
	Score         float64   `json:"score"`
	Side          int       `json:"side"`
	Expires       time.Time `json:"expires"`
}

// Record is an opened crop.
type Record struct {
	lane.Evidence
	Expires time.Time
}

// Put seals e's chip into a new file. It copies nothing it does not write.
func (s *Store) Put(ctx context.Context, e lane.Evidence) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.Chip.Empty() || len(e.Chip.Pix) != 3*e.Chip.Side*e.Chip.Side {
		return fmt.Errorf("evidence: chip of %d bytes for side %d", len(e.Chip.Pix), e.Chip.Side)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	exp := s.clk.Now().Add(s.ttl)
	m := meta{TransactionID: e.TransactionID, Occupant: e.Occupant, Camera: e.Camera, At: e.At, Score: e.Score,
		Side: e.Chip.Side, Expires: exp}
	hdr, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	plain := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))
	plain = append(plain, hdr...)
	plain = append(plain, e.Chip.Pix...)
	defer clear(plain)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	name := fmt.Sprintf("%020d-%x%s", exp.UnixNano(), rnd, ext)
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(name))
	tmp := filepath.Join(s.dir, "."+name+".tmp")
	if err := writeSync(tmp, sealed); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("evidence: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("evidence: %w", err)
	}
	return nil
}

func writeSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// expiry parses a crop's file name; ok false for a file that is not one.
func expiry(name string) (time.Time, bool) {
	if !strings.HasSuffix(name, ext) {
		return time.Time{}, false
	}
	head, _, ok := strings.Cut(name, "-")
	if !ok {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(head, 10, 64)
	if err != nil || ns <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// List returns the names of the crops not yet expired, oldest first.
func (s *Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	now := s.clk.Now()
	var out []string
	for _, e := range ents {
		if exp, ok := expiry(e.Name()); ok && e.Type().IsRegular() && exp.After(now) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Open decrypts one crop by name; a crop past its expiry is ErrExpired.
func (s *Store) Open(name string) (Record, error) {
	if filepath.Base(name) != name {
		return Record{}, fmt.Errorf("evidence: %q is not a crop name", name)
	}
	exp, ok := expiry(name)
	if !ok {
		return Record{}, fmt.Errorf("evidence: %q is not a crop name", name)
	}
	if !exp.After(s.clk.Now()) {
		return Record{}, fmt.Errorf("evidence: %s: %w", name, ErrExpired)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		return Record{}, fmt.Errorf("evidence: %w", err)
	}
	r, err := s.unseal(name, b)
	if err != nil {
		return Record{}, fmt.Errorf("evidence: %s: %w", name, err)
	}
	if !r.Expires.Equal(exp) {
		return Record{}, fmt.Errorf("evidence: %s: expiry in the name and the sealed header differ", name)
	}
	return r, nil
}

func (s *Store) unseal(name string, b []byte) (Record, error) {
	n := s.aead.NonceSize()
	if len(b) < n+s.aead.Overhead() {
		return Record{}, errors.New("truncated")
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(name))
	if err != nil {
		return Record{}, errors.New("does not decrypt with the at-rest key (tampered, renamed or another key)")
	}
	if len(plain) < 4 {
		return Record{}, errors.New("truncated header")
	}
	hl := int(binary.BigEndian.Uint32(plain))
	if hl > len(plain)-4 {
		return Record{}, errors.New("header length beyond the record")
	}
	var m meta
	if err := json.Unmarshal(plain[4:4+hl], &m); err != nil {
		return Record{}, fmt.Errorf("header: %w", err)
	}
	pix := plain[4+hl:]
	if m.Side <= 0 || len(pix) != 3*m.Side*m.Side {
		return Record{}, fmt.Errorf("chip of %d bytes for side %d", len(pix), m.Side)
	}
	return Record{Evidence: lane.Evidence{TransactionID: m.TransactionID, Occupant: m.Occupant, Camera: m.Camera,
		At: m.At, Score: m.Score, Chip: vision.Chip{Side: m.Side, Pix: pix}}, Expires: m.Expires}, nil
}

// Sweep deletes the crops whose TTL has passed and stale temporary files;
// it returns how many it removed.
func (s *Store) Sweep() (int, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("evidence: %w", err)
	}
	now := s.clk.Now()
	n := 0
	var errs []error
	for _, e := range ents {
		name := e.Name()
		exp, ok := expiry(name)
		stale := strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
		if !(ok && !exp.After(now)) && !(stale && tempOld(e, now)) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("evidence: sweep: %w", errors.Join(errs...))
	}
	return n, nil
}

// tempOld: a temporary file left by a crash (older than a minute).
func tempOld(e fs.DirEntry, now time.Time) bool {
	info, err := e.Info()
	return err == nil && now.Sub(info.ModTime()) > time.Minute
}

// Run sweeps every TTL/12 (at most every 5 minutes) until ctx ends; it
// returns nil on cancellation. A failed sweep is retried at the next tick
// (Sweep's error names the file).
func (s *Store) Run(ctx context.Context) error {
	every := min(s.ttl/12, 5*time.Minute)
	every = max(every, time.Second)
	t := s.clk.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			if _, err := s.Sweep(); err != nil {
				s.sweepErrs.Add(1)
			}
		}
	}
}

// Close is idempotent; Put fails after it.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}
