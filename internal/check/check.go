package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Check is one named test. Run returns a short detail on success, or an
// error whose text names the failing item.
type Check struct {
	Name string
	Run  func(ctx context.Context) (string, error)
}

// Result is how one check ended.
type Result struct {
	Name     string        `json:"name"`
	OK       bool          `json:"ok"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns"`
}

// DefaultTimeout bounds one check.
const DefaultTimeout = 15 * time.Second

// Run runs the checks in order, each under timeout (DefaultTimeout if 0).
func Run(ctx context.Context, checks []Check, timeout time.Duration) []Result {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	out := make([]Result, 0, len(checks))
	for _, c := range checks {
		out = append(out, runOne(ctx, c, timeout))
	}
	return out
}

func runOne(ctx context.Context, c Check, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	type answer struct {
		detail string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- answer{err: fmt.Errorf("check panicked: %v", p)}
			}
		}()
		d, err := c.Run(ctx)
		done <- answer{d, err}
	}()
	var a answer
	select {
	case a = <-done:
	case <-ctx.Done():
		a.err = fmt.Errorf("no answer within %s", timeout)
	}
	r := Result{Name: c.Name, OK: a.err == nil, Detail: a.detail, Duration: time.Since(start)}
	if a.err != nil {
		r.Detail = a.err.Error()
	}
	return r
}

// Failed returns the failed results.
func Failed(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if !r.OK {
			out = append(out, r)
		}
	}
	return out
}

// WriteTable prints the pass/fail table for a person.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rs {
		mark := "PASS"
		if !r.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, r.Name, oneLine(r.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bad := Failed(rs)
	if len(bad) == 0 {
		_, err := fmt.Fprintf(w, "all %d checks passed\n", len(rs))
		return err
	}
	names := make([]string, len(bad))
	for i, r := range bad {
		names[i] = r.Name
	}
	_, err := fmt.Fprintf(w, "%d of %d checks failed: %s\n", len(bad), len(rs), strings.Join(names, ", "))
	return err
}

// Report is the --json document.
type Report struct {
	OK     bool      `json:"ok"`
	At     time.Time `json:"at"`
	Checks []Result  `json:"checks"`
	Failed []string  `json:"failed"`
}

// WriteJSON prints the results as one JSON document.
func WriteJSON(w io.Writer, rs []Result, at time.Time) error {
	rep := Report{OK: len(Failed(rs)) == 0, At: at.UTC(), Checks: rs, Failed: []string{}}
	for _, r := range Failed(rs) {
		rep.Failed = append(rep.Failed, r.Name)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }
