package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/laned/laned/internal/models"
)

// Models verifies every model file of the embedded manifest in dir against
// its checksum; the error names each missing or altered file.
func Models(dir string) Check {
	return Check{Name: "models", Run: func(ctx context.Context) (string, error) {
		if dir == "" {
			d, err := models.Dir()
			if err != nil {
				return "", err
			}
			dir = d
		}
		set, err := models.Open(dir)
		if err != nil {
			return "", err
		}
		m, err := models.Embedded()
		if err != nil {
			return "", err
		}
		var bad []string
		for _, dest := range m.Files() {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if _, err := set.Path(dest); err != nil {
				bad = append(bad, err.Error())
			}
		}
		if len(bad) > 0 {
			return "", fmt.Errorf("%d of %d model files bad: %s", len(bad), len(m.Files()), strings.Join(bad, "; "))
		}
		return fmt.Sprintf("%d files match the manifest in %s", len(m.Files()), dir), nil
	}}
}

// DiskSpace fails when the file system holding path has less than minFree
// bytes available to the daemon.
func DiskSpace(path string, minFree uint64) Check {
	return Check{Name: "disk space", Run: func(context.Context) (string, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		free := st.Bavail * uint64(st.Bsize)
		total := st.Blocks * uint64(st.Bsize)
		detail := fmt.Sprintf("%s: %s free of %s", path, bytesIEC(free), bytesIEC(total))
		if free < minFree {
			return "", fmt.Errorf("%s, want at least %s", detail, bytesIEC(minFree))
		}
		return detail, nil
	}}
}

func bytesIEC(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// TimeSource gives a reference time (an NTP or HTTPS Date answer) for the
// clock-skew check; nil uses only the kernel's own synchronisation state.
type TimeSource func(ctx context.Context) (time.Time, error)

// Kernel reports the kernel's clock discipline (adjtimex): whether NTP
// synchronises it and its estimated maximum error.
type Kernel func() (synced bool, maxError time.Duration, err error)

// Adjtimex reads the kernel's clock state.
func Adjtimex() (bool, time.Duration, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, 0, fmt.Errorf("adjtimex: %w", err)
	}
	synced := state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
	return synced, time.Duration(tx.Maxerror) * time.Microsecond, nil
}

// ClockSkew fails when the clock is not synchronised, its estimated error
// exceeds max, or it is more than max from the reference.
func ClockSkew(max time.Duration, kernel Kernel, ref TimeSource) Check {
	if kernel == nil {
		kernel = Adjtimex
	}
	return Check{Name: "clock", Run: func(ctx context.Context) (string, error) {
		synced, maxErr, err := kernel()
		if err != nil {
			return "", err
		}
		if !synced {
			return "", errors.New("system clock not synchronised (no NTP: check systemd-timesyncd or chrony); capture times in summaries may be off")
		}
		if maxErr > max {
			return "", fmt.Errorf("system clock error estimate %s, want at most %s", maxErr, max)
		}
		detail := fmt.Sprintf("synchronised, error estimate %s", maxErr)
		if ref != nil {
			t, err := ref(ctx)
			if err != nil {
				return "", fmt.Errorf("reference time: %w", err)
			}
			skew := time.Since(t)
			if skew.Abs() > max {
				return "", fmt.Errorf("system clock %s off the reference, want at most %s", skew.Round(time.Millisecond), max)
			}
			detail += fmt.Sprintf(", %s from the reference", skew.Round(time.Millisecond))
		}
		return detail, nil
	}}
}

// Writable fails unless dir is a directory the daemon can create, write,
// sync and remove a file in (the outbox, the state directory).
func Writable(name, dir string) Check {
	return Check{Name: name, Run: func(context.Context) (string, error) {
		st, err := os.Stat(dir)
		if err != nil {
			return "", fmt.Errorf("%s: %w", dir, err)
		}
		if !st.IsDir() {
			return "", fmt.Errorf("%s: not a directory (%s)", dir, st.Mode().Type())
		}
		f, err := os.CreateTemp(dir, ".laned-check-*")
		if err != nil {
			return "", fmt.Errorf("%s: not writable: %w", dir, err)
		}
		defer os.Remove(f.Name())
		if _, err := f.Write([]byte("laned check\n")); err != nil {
			f.Close()
			return "", fmt.Errorf("%s: write: %w", dir, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return "", fmt.Errorf("%s: fsync: %w", dir, err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("%s: %w", dir, err)
		}
		return dir + " writable (create, write, fsync)", nil
	}}
}

// WatchdogSource reports the daemon's WATCHDOG_USEC (0 when not armed).
type WatchdogSource func(ctx context.Context) (time.Duration, error)

// Watchdog fails unless the daemon runs with the systemd watchdog armed.
func Watchdog(src WatchdogSource) Check {
	return Check{Name: "systemd watchdog", Run: func(ctx context.Context) (string, error) {
		d, err := src(ctx)
		if err != nil {
			return "", err
		}
		if d <= 0 {
			return "", errors.New("laned.service runs without WATCHDOG_USEC: a hung lane would not be restarted (WatchdogSec= in the unit)")
		}
		return fmt.Sprintf("armed, WatchdogSec=%s", d), nil
	}}
}

// WatchdogFromEnv is the source inside the daemon: its own environment.
func WatchdogFromEnv(context.Context) (time.Duration, error) {
	return parseWatchdogUSec(os.Getenv("WATCHDOG_USEC"))
}

// WatchdogOfPID reads WATCHDOG_USEC from a running process's environment
// (the daemon's MainPID; needs root or the daemon's user).
func WatchdogOfPID(pid func(ctx context.Context) (int, error)) WatchdogSource {
	return func(ctx context.Context) (time.Duration, error) {
		p, err := pid(ctx)
		if err != nil {
			return 0, err
		}
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "environ"))
		if err != nil {
			return 0, fmt.Errorf("daemon environment (pid %d): %w", p, err)
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, "WATCHDOG_USEC="); ok {
				return parseWatchdogUSec(v)
			}
		}
		return 0, nil
	}
}

func parseWatchdogUSec(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q is not a positive number", v)
	}
	return time.Duration(n) * time.Microsecond, nil
}
