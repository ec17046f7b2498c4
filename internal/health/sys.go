package health

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func statfs(path string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("disk %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}

// readMilliCelsius reads a Linux thermal zone file (millidegrees Celsius).
func readMilliCelsius(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("temperature: %w", err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v < -100000 || v > 200000 {
		return 0, fmt.Errorf("temperature: %s: %q is not millidegrees Celsius", path, strings.TrimSpace(string(b)))
	}
	return float64(v) / 1000, nil
}
