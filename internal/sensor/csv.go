package sensor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the first line of sensors.csv.
const CSVHeader = "t_ms,input,level"

// MaxCSVLine bounds one line of sensors.csv.
const MaxCSVLine = 256

// CSVWriter writes transitions as sensors.csv: t_ms since start, the
// input's name, level 1 (active) or 0.
type CSVWriter struct {
	w     *bufio.Writer
	start time.Time
	last  int64
}

// NewCSVWriter writes the header.
func NewCSVWriter(w io.Writer, start time.Time) (*CSVWriter, error) {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(CSVHeader + "\n"); err != nil {
		return nil, err
	}
	return &CSVWriter{w: bw, start: start}, nil
}

// Write appends t; times before start or before the previous line are
// written as the previous time (the file stays ordered).
func (c *CSVWriter) Write(t Transition) error {
	if !nameRE.MatchString(t.Input) {
		return fmt.Errorf("sensors.csv: input name %q", t.Input)
	}
	ms := t.At.Sub(c.start).Milliseconds()
	ms = max(ms, c.last, 0)
	c.last = ms
	lvl := 0
	if t.Active {
		lvl = 1
	}
	_, err := fmt.Fprintf(c.w, "%d,%s,%d\n", ms, t.Input, lvl)
	return err
}

// Flush writes buffered lines through.
func (c *CSVWriter) Flush() error { return c.w.Flush() }

// ErrCSV is wrapped by every parse error.
var ErrCSV = errors.New("bad sensors.csv")

// ParseCSV reads sensors.csv strictly: the exact header, then lines of
// three fields — t_ms a decimal integer (0 to 10^10, never decreasing),
// an input name as config allows, level 0 or 1 — with LF or CRLF endings
// and nothing else (no blank lines, quotes, spaces or extra fields).
// Times are start + t_ms. Errors name the line.
func ParseCSV(r io.Reader, start time.Time) ([]Transition, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, MaxCSVLine), MaxCSVLine)
	var out []Transition
	n := 0
	last := int64(-1)
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n == 1 {
			if line != CSVHeader {
				return nil, fmt.Errorf("%w: line 1: header %q, want %q", ErrCSV, line, CSVHeader)
			}
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: line %d: %d fields, want 3", ErrCSV, n, len(f))
		}
		if f[0] == "" || len(f[0]) > 11 || strings.TrimLeft(f[0], "0123456789") != "" || (len(f[0]) > 1 && f[0][0] == '0') {
			return nil, fmt.Errorf("%w: line %d: t_ms %q is not a decimal integer", ErrCSV, n, f[0])
		}
		ms, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || ms > 1e10 {
			return nil, fmt.Errorf("%w: line %d: t_ms %q out of range", ErrCSV, n, f[0])
		}
		if ms < last {
			return nil, fmt.Errorf("%w: line %d: t_ms %d before the previous line's %d", ErrCSV, n, ms, last)
		}
		last = ms
		if !nameRE.MatchString(f[1]) {
			return nil, fmt.Errorf("%w: line %d: input %q is not a sensor name", ErrCSV, n, f[1])
		}
		if f[2] != "0" && f[2] != "1" {
			return nil, fmt.Errorf("%w: line %d: level %q, want 0 or 1", ErrCSV, n, f[2])
		}
		out = append(out, Transition{Input: f[1], Active: f[2] == "1", At: start.Add(time.Duration(ms) * time.Millisecond)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrCSV, n+1, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty file, want the header %q", ErrCSV, CSVHeader)
	}
	return out, nil
}
