package lanedtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/laned/laned/internal/models"
)

// ModelDir returns the model cache (models.Dir: $LANED_MODEL_DIR, else
// this checkout's models/cache), skipping the test when set-up has not
// fetched the detector models into it.
func ModelDir(t testing.TB) string {
	t.Helper()
	dir, err := models.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blazeface")); err != nil {
		t.Skipf("model cache %s absent (run `laned models fetch`): %v", dir, err)
	}
	return dir
}

// RecognitionModel returns the path of the verified converted recognition
// model, skipping the test when set-up has not produced it and failing it
// when the file is present but altered.
func RecognitionModel(t testing.TB) string {
	t.Helper()
	return ModelFile(t, "face_recognition.onnx")
}

// ModelFile returns the path of the manifest's file name, verified, skipping
// the test when set-up has not fetched it and failing it when the file is
// present but altered.
func ModelFile(t testing.TB, name string) string {
	t.Helper()
	set, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	p, err := set.Path(name)
	if errors.Is(err, models.ErrNotFetched) {
		t.Skipf("model %s not available (run make setup): %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ModelBytes is ModelFile's content.
func ModelBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(ModelFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReadF32 reads a file of little-endian float32 values.
func ReadF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes, not whole float32 values", path, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// CPUTime is the process's user+system CPU time, all threads.
func CPUTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// RSS is the process's resident set size in bytes (Linux /proc), the
// figure that shows leaked C++ memory the Go GC cannot see.
func RSS(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		t.Fatalf("parse /proc/self/statm: %v", err)
	}
	return res * int64(os.Getpagesize())
}
