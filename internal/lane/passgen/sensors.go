package passgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// WriteSensorsCSV writes transitions as laned record does: a header line
// "t_ms,input,level", then one line per transition (level 1 = active).
func WriteSensorsCSV(w io.Writer, ts []Transition) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "t_ms,input,level")
	for _, t := range ts {
		l := 0
		if t.Active {
			l = 1
		}
		fmt.Fprintf(bw, "%d,%s,%d\n", t.At.Milliseconds(), t.Input, l)
	}
	return bw.Flush()
}

var reInput = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// MaxSensorLines bounds a sensors file.
const MaxSensorLines = 1 << 20

// ParseSensorsCSV reads a sensors.csv; errors name the line. Times must not
// go backwards.
func ParseSensorsCSV(r io.Reader) ([]Transition, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	var out []Transition
	n := 0
	var last int64 = -1
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 && line == "t_ms,input,level" {
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if n > MaxSensorLines {
			return nil, fmt.Errorf("sensors: more than %d lines", MaxSensorLines)
		}
		f := strings.Split(line, ",")
		if len(f) != 3 {
			return nil, fmt.Errorf("sensors: line %d: %d fields, want t_ms,input,level", n, len(f))
		}
		ms, err := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64)
		if err != nil || ms < 0 || ms > int64(30*24*time.Hour/time.Millisecond) {
			return nil, fmt.Errorf("sensors: line %d: t_ms %q is not a time in ms (0 to 30 days)", n, f[0])
		}
		if ms < last {
			return nil, fmt.Errorf("sensors: line %d: t_ms %d before the previous %d", n, ms, last)
		}
		last = ms
		in := strings.TrimSpace(f[1])
		if !reInput.MatchString(in) {
			return nil, fmt.Errorf("sensors: line %d: input %q is not a name", n, in)
		}
		var on bool
		switch strings.TrimSpace(f[2]) {
		case "1":
			on = true
		case "0":
		default:
			return nil, fmt.Errorf("sensors: line %d: level %q, want 0 or 1", n, f[2])
		}
		out = append(out, Transition{At: time.Duration(ms) * time.Millisecond, Input: in, Active: on})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("sensors: line %d: too long", n+1)
		}
		return nil, fmt.Errorf("sensors: %w", err)
	}
	return out, nil
}
