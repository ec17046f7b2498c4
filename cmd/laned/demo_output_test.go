package main

import (
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// TestDemoOutputDoesNotFollowSymlinks: a symlink planted where the demo
// writes an annotated image is replaced; its target is not overwritten.
func TestDemoOutputDoesNotFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim.conf")
	os.WriteFile(victim, []byte("precious"), 0o644)
	out := filepath.Join(dir, "sample1-identified.png")
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	img := gocv.NewMatWithSize(8, 8, gocv.MatTypeCV8UC3)
	defer img.Close()
	if err := writeImage(out, img); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the symlink's target was overwritten (%d bytes)", len(b))
	}
	if st, err := os.Lstat(out); err != nil || !st.Mode().IsRegular() {
		t.Errorf("%s: %v %v", out, st.Mode(), err)
	}
	back := gocv.IMRead(out, gocv.IMReadColor)
	defer back.Close()
	if back.Rows() != 8 {
		t.Errorf("written image reads back as %dx%d", back.Cols(), back.Rows())
	}
}
