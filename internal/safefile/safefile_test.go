package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenRefusesSpecialFiles: a FIFO (which would block open(2) for
// ever), a device node and a directory are refused at once, by name.
func TestOpenRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(dir, "reg")
	os.WriteFile(reg, []byte("hello"), 0o600)
	link := filepath.Join(dir, "link-to-fifo")
	os.Symlink(fifo, link)
	for name, c := range map[string]struct{ path, want string }{
		"fifo":         {fifo, "FIFO"},
		"fifo by link": {link, "FIFO"},
		"device":       {"/dev/null", "character device"},
		"directory":    {dir, "directory"},
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				f, err := Open(c.path)
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
					t.Errorf("Open(%s) = %v, want a %s error naming the path", c.path, err, c.want)
				}
			case <-time.After(10 * time.Second): // a hang guard, not a timing
				t.Fatal("Open blocked")
			}
		})
	}
	b, err := ReadFile(reg, 5)
	if err != nil || string(b) != "hello" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := ReadFile(reg, 4); err == nil {
		t.Error("ReadFile over max accepted")
	}
}

// TestWriteFileDoesNotFollowSymlinks: a symlink planted at the output path
// is replaced; its target is untouched.
func TestWriteFileDoesNotFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	out := filepath.Join(dir, "out.png")
	os.Symlink(victim, out)
	err := WriteFile(out, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err })
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("symlink target overwritten: %q", b)
	}
	st, err := os.Lstat(out)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("out: %v %v", st.Mode(), err)
	}
	if err := WriteFile(dir, 0o600, func(io.Writer) error { return nil }); err == nil {
		t.Error("wrote over a directory")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestCheckNotWritableByOthers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k.pub")
	os.WriteFile(p, []byte("k"), 0o644)
	for mode, ok := range map[os.FileMode]bool{0o644: true, 0o600: true, 0o664: false, 0o646: false, 0o666: false} {
		os.Chmod(p, mode)
		f, _ := os.Open(p)
		err := CheckNotWritableByOthers(f)
		f.Close()
		if (err == nil) != ok {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
}
