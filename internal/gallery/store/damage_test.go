package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
)

// damagedGallery writes a real gallery store with an active gallery and
// returns its bytes.
func damagedGallery(t *testing.T) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gallery.db")
	s := openStore(t, p)
	if _, err := importBytes(s, bundleBytes(t, manifest(3), records("S", 300, 1))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamagedStoreMovedAside: truncated, zeroed and garbage gallery
// stores never kill the process (each opened in a child, so a SIGBUS or a
// panic is a reported failure, not a crash of the test binary): Open
// moves the damaged file aside, names it and why, and starts an empty
// store, so the lane runs degraded with no gallery until the next sync.
func TestDamagedStoreMovedAside(t *testing.T) {
	if p := os.Getenv("LANED_DAMAGED_STORE"); p != "" {
		damagedStoreChild(p)
		return
	}
	orig := damagedGallery(t)
	ps := os.Getpagesize()
	type pattern struct {
		name string
		f    func([]byte) []byte
	}
	pats := []pattern{
		{"intact", func(b []byte) []byte { return b }},
		{"truncated to a third", func(b []byte) []byte { return b[:len(b)/3] }},
		{"truncated by one page", func(b []byte) []byte { return b[:len(b)-ps] }},
		{"truncated mid-page", func(b []byte) []byte { return b[:len(b)-ps/2] }},
		{"first 3 pages zeroed", func(b []byte) []byte { clear(b[:3*ps]); return b }},
		{"all garbage", func(b []byte) []byte {
			r := rand.New(rand.NewPCG(3, 3))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return b
		}},
	}
	for i := 2; i < len(orig)/ps; i += max(1, len(orig)/ps/12) {
		pats = append(pats, pattern{fmt.Sprintf("page %d zeroed", i), func(b []byte) []byte { clear(b[i*ps : (i+1)*ps]); return b }})
		pats = append(pats, pattern{fmt.Sprintf("page %d garbage", i), func(b []byte) []byte {
			r := rand.New(rand.NewPCG(uint64(i), 9))
			for j := i * ps; j < (i+1)*ps; j++ {
				b[j] = byte(r.Uint32())
			}
			return b
		}})
	}
	moved := 0
	for _, pt := range pats {
		t.Run(pt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "gallery.db")
			if err := os.WriteFile(p, pt.f(bytes.Clone(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestDamagedStoreMovedAside$")
			cmd.Env = append(os.Environ(), "LANED_DAMAGED_STORE="+p)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child failed (%v):\n%s", err, out)
			}
			res := string(out)
			aside, _ := filepath.Glob(p + ".damaged-*")
			switch {
			case pt.name == "intact":
				if !strings.Contains(res, "active=true") || len(aside) != 0 {
					t.Errorf("intact store: %s, aside %v", res, aside)
				}
			case strings.Contains(res, "active=true"):
				// damage on a page the store never reads: it must still
				// answer consistently
				if !strings.Contains(res, "subjects=300") {
					t.Errorf("store runs on damage: %s", res)
				}
			default:
				moved++
				if len(aside) != 1 || !strings.Contains(res, "recovered=") || !strings.Contains(res, aside[0]) ||
					!strings.Contains(res, "degraded=true") {
					t.Errorf("no recovery reported: %s (aside %v)", res, aside)
				}
			}
		})
	}
	t.Logf("%d patterns, %d moved aside", len(pats), moved)
}

func damagedStoreChild(p string) {
	k, _ := NewKey(testRaw)
	s, err := Open(p, Options{Key: k, LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(0) // an error is acceptable, a crash is not
	}
	defer s.Close()
	if r := s.Recovered(); r != nil {
		fmt.Printf("recovered=%s: %v\n", r.MovedTo, r.Cause)
	}
	st, err := s.Status(testNow)
	fmt.Printf("active=%v subjects=%d degraded=%v reason=%q err=%v\n", st.Active, st.Subjects, st.Degraded, st.Reason, err)
	if st.Active {
		n := 0
		_, err := s.Each(func(*bundle.Record) error { n++; return nil })
		fmt.Printf("loaded=%d err=%v\n", n, err)
	}
}
