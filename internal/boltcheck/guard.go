package boltcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by Guard when another process holds the file for
// longer than the timeout.
var ErrLocked = errors.New("locked by another process")

// Guard checks the bbolt file at path before it is opened, under the
// exclusive lock bbolt itself takes (so a file another process is writing
// is never judged, or moved, mid-write). A damaged file is renamed to
// path.damaged-<UTC time> and Guard returns the new name and the damage;
// the caller then opens (creates) a fresh file at path. A missing or empty
// file is fine.
func Guard(path string, timeout time.Duration, now time.Time) (movedTo string, cause error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return "", nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("%s: %w (waited %v)", path, ErrLocked, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	st, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	if !st.Mode().IsRegular() {
		return "", nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() == 0 {
		return "", nil, nil
	}
	if _, cause = Check(f, st.Size()); cause == nil {
		return "", nil, nil
	}
	movedTo = fmt.Sprintf("%s.damaged-%s", path, now.UTC().Format("20060102T150405.000Z"))
	if err := os.Rename(path, movedTo); err != nil {
		return "", cause, fmt.Errorf("move damaged %s aside: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return movedTo, cause, nil
}
