package lanedtest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadF32(t *testing.T) {
	p := filepath.Join(t.TempDir(), "v.f32")
	// 1.0 and -2.5, little-endian
	if err := os.WriteFile(p, []byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0}, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ReadF32(t, p); !slices.Equal(got, []float32{1, -2.5}) {
		t.Fatalf("got %v", got)
	}
}

func TestCPUTimeAdvances(t *testing.T) {
	t0 := CPUTime(t)
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if CPUTime(t) <= t0 || x == 0 {
		t.Fatal("CPU time did not advance over a busy loop")
	}
}
