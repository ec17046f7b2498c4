package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/laned/laned/internal/clock"
)

// Output is where a command writes. Text goes through the transport's
// redacting writer; File hands a binary result (a snapshot) to the caller.
type Output interface {
	io.Writer
	// File delivers name and data to the caller. Transports that cannot
	// carry a file (the serial line) return ErrNoFile.
	File(name string, data []byte) error
}

// ErrNoFile is returned by Output.File on transports without file transfer.
var ErrNoFile = errors.New("this console cannot receive files; use 'laned ctl' on the booth")

// ErrLogout asks the transport to end the session (logout, exit, quit).
var ErrLogout = errors.New("logout")

// ErrUnknown marks a line that named no command.
var ErrUnknown = errors.New("unknown command")

// ErrDenied marks a command refused for the caller's role.
var ErrDenied = errors.New("permission denied")

// Stream limits: watch and focus run for a bounded time unless the caller
// interrupts them first; follow modes stop at MaxFollow.
const (
	DefaultWatch = 60 * time.Second
	DefaultFocus = 30 * time.Second
	MaxFollow    = time.Hour
)

// Interpreter runs console lines against a Backend, for one identity at a
// time, checking each command's role and auditing every line.
type Interpreter struct {
	backend Backend
	audit   Auditor
	clock   clock.Clock
	redact  *Redactor
	cmds    []*cmdSpec
}

// NewInterpreter returns an interpreter. redact may be nil (no secret
// values known); audit must not be nil.
func NewInterpreter(b Backend, a Auditor, clk clock.Clock, redact *Redactor) (*Interpreter, error) {
	if b == nil || a == nil || clk == nil {
		return nil, errors.New("console: interpreter needs a backend, an auditor and a clock")
	}
	if redact == nil {
		redact = NewRedactor()
	}
	in := &Interpreter{backend: b, audit: a, clock: clk, redact: redact}
	in.cmds = commandTable()
	return in, nil
}

// call is one command invocation.
type call struct {
	in   *Interpreter
	id   Identity
	args []string
	out  Output
}

func (c *call) printf(format string, a ...any) { fmt.Fprintf(c.out, format, a...) }

// cmdSpec is one row of the command table.
type cmdSpec struct {
	path   []string // words that name it: {"gallery", "sync"}
	args   string   // synopsis of the arguments
	help   string
	role   Role
	nargs  [2]int // min, max positional arguments (max -1: any)
	stream bool   // runs until interrupted or its time is up
	run    func(ctx context.Context, c *call) error
}

func (s *cmdSpec) name() string { return strings.Join(s.path, " ") }

// Result is how one line ended.
type Result struct {
	Command string // canonical command ("gallery import"), "" when unknown
	Err     error  // nil, ErrDenied, ErrUnknown, ErrLogout or the command's error
}

// Exec runs one line for id, writing to out, and audits it. Blank lines
// return a zero Result without an audit record.
func (in *Interpreter) Exec(ctx context.Context, id Identity, line string, out Output) Result {
	ctx = WithIdentity(ctx, id) // the backend may name who asked (audit of what it changes)
	start := in.clock.Now()
	ro := &redactedOutput{w: in.redact.Writer(out), file: out}
	defer ro.w.Flush()
	out = ro
	words, err := Split(line)
	if errors.Is(err, errEmpty) {
		return Result{}
	}
	rec := Record{At: start, User: id.User, Role: id.Role, Transport: id.Transport, Action: "command"}
	if err != nil {
		fmt.Fprintf(out, "error: %v\n", err)
		rec.Result, rec.Detail = "unknown", fmt.Sprintf("unparsable line of %d bytes", len(line))
		in.audit.Audit(rec)
		return Result{Err: fmt.Errorf("%w: %v", ErrUnknown, err)}
	}
	spec, args := in.lookup(words)
	if spec == nil {
		// The words are not recorded: a password typed at the prompt must
		// not end up in the journal.
		fmt.Fprintf(out, "unknown command %q; type 'help'\n", truncate(words[0], 24))
		rec.Result, rec.Detail = "unknown", fmt.Sprintf("%d words", len(words))
		in.audit.Audit(rec)
		return Result{Err: ErrUnknown}
	}
	rec.Command = in.redact.String(strings.Join(append(append([]string(nil), spec.path...), quoteArgs(args)...), " "))
	res := Result{Command: spec.name()}
	switch {
	case id.Role < spec.role:
		fmt.Fprintf(out, "permission denied: '%s' needs the %s role (you are %s)\n", spec.name(), spec.role, id.Role)
		res.Err = ErrDenied
		rec.Result = "denied"
	case len(args) < spec.nargs[0] || (spec.nargs[1] >= 0 && len(args) > spec.nargs[1]):
		fmt.Fprintf(out, "usage: %s %s\n", spec.name(), spec.args)
		res.Err = fmt.Errorf("usage: %s %s", spec.name(), spec.args)
		rec.Result = "error"
		rec.Detail = "usage"
	default:
		err := spec.run(ctx, &call{in: in, id: id, args: args, out: out})
		switch {
		case err == nil, errors.Is(err, ErrLogout):
			rec.Result = "ok"
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			rec.Result = "interrupted"
		default:
			fmt.Fprintf(out, "error: %s\n", in.redact.String(err.Error()))
			rec.Result = "error"
			rec.Detail = in.redact.String(err.Error())
		}
		res.Err = err
	}
	rec.Duration = in.clock.Now().Sub(start)
	in.audit.Audit(rec)
	return res
}

// redactedOutput scrubs every text line a command writes; files (JPEG)
// pass unchanged.
type redactedOutput struct {
	w    *RedactWriter
	file Output
}

func (o *redactedOutput) Write(p []byte) (int, error)         { return o.w.Write(p) }
func (o *redactedOutput) File(name string, data []byte) error { return o.file.File(name, data) }

// Allowed reports whether role may run the command that line names; the
// fuzz test checks Exec against it.
func (in *Interpreter) Allowed(role Role, line string) (command string, ok bool) {
	words, err := Split(line)
	if err != nil {
		return "", false
	}
	spec, _ := in.lookup(words)
	if spec == nil {
		return "", false
	}
	return spec.name(), role >= spec.role
}

// lookup finds the command with the longest path that prefixes words.
func (in *Interpreter) lookup(words []string) (*cmdSpec, []string) {
	var best *cmdSpec
	for _, s := range in.cmds {
		if len(s.path) > len(words) || (best != nil && len(s.path) <= len(best.path)) {
			continue
		}
		match := true
		for i, w := range s.path {
			if !strings.EqualFold(words[i], w) {
				match = false
				break
			}
		}
		if match {
			best = s
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, words[len(best.path):]
}

// Streams reports whether line names a command that runs until it is
// interrupted (watch, focus, follow); transports then watch for a key.
func (in *Interpreter) Streams(line string) bool {
	words, err := Split(line)
	if err != nil {
		return false
	}
	spec, args := in.lookup(words)
	if spec == nil {
		return false
	}
	if spec.name() == "log tail" || spec.name() == "events" {
		for _, a := range args {
			if a == "-f" || a == "--follow" {
				return true
			}
		}
		return false
	}
	return spec.stream
}

// Commands lists the command names a role may run, sorted.
func (in *Interpreter) Commands(role Role) []string {
	var out []string
	for _, s := range in.cmds {
		if role >= s.role {
			out = append(out, s.name())
		}
	}
	sort.Strings(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"\\") {
			out[i] = strconv.Quote(a)
		} else {
			out[i] = a
		}
	}
	return out
}

// withClockTimeout is context.WithTimeout on the injected clock.
func withClockTimeout(ctx context.Context, clk clock.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	t := clk.NewTimer(d)
	go func() {
		select {
		case <-t.C():
			cancel()
		case <-ctx.Done():
		}
		t.Stop()
	}()
	return ctx, cancel
}

// seconds parses an optional duration argument in seconds, bounded.
func seconds(args []string, i int, def, max time.Duration) (time.Duration, error) {
	if len(args) <= i {
		return def, nil
	}
	n, err := strconv.Atoi(args[i])
	if err != nil || n <= 0 || time.Duration(n)*time.Second > max {
		return 0, fmt.Errorf("seconds %q: want a whole number from 1 to %d", args[i], int(max/time.Second))
	}
	return time.Duration(n) * time.Second, nil
}
