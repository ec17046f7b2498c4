package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/laned/laned/internal/atomicfile"
)

// ErrNotRegular is wrapped by the errors for inputs that are not regular
// files.
var ErrNotRegular = errors.New("not a regular file")

// TypeOf names the file type of m for error messages.
func TypeOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeDir != 0:
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file"
}

// Open opens path for reading only if it is a regular file. It stats path
// first (so a FIFO or a device is never opened), then opens it with
// O_NONBLOCK (so a file swapped for a FIFO in between cannot block) and
// checks the opened file again with fstat.
func Open(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (a %s)", path, ErrNotRegular, TypeOf(st.Mode()))
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if fst.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w (changed while opening)", path, ErrNotRegular)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ReadFile reads the regular file path, refusing one over max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, max)
	}
	return b, nil
}

// WriteFile writes path atomically with mode (see package atomicfile: the
// one writer, which fsyncs the file and its directory and never follows a
// symlink at path).
func WriteFile(path string, mode fs.FileMode, write func(io.Writer) error) error {
	return atomicfile.Write(path, mode, write)
}

// WriteFileChecked is WriteFile with a read-back check before the rename
// (atomicfile.WriteChecked).
func WriteFileChecked(path string, mode fs.FileMode, write func(io.Writer) error, check func(io.Reader) error) error {
	return atomicfile.WriteChecked(path, mode, write, check)
}

// CheckNotWritableByOthers refuses a file (such as a trust key) that group
// or others may write: whoever can replace it decides what is trusted.
func CheckNotWritableByOthers(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if p := st.Mode().Perm(); p&0o022 != 0 {
		return fmt.Errorf("%s: mode %04o lets group or others write it; chmod go-w", f.Name(), p)
	}
	return nil
}
