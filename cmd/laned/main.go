// Command laned is the lane daemon and its tools: one binary for the booth
// (daemon, technician console, checks) and for the central office (gallery
// building, tail). main stays tiny; each subcommand lives in its own file
// (cmd_<name>.go) and registers itself from init.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// command is one laned subcommand. Name may contain a space for nested
// commands ("models fetch", "eval recognition").
type command struct {
	Name  string
	Short string // one line for the command list
	Usage string // argument synopsis, e.g. "[--json] IMAGE..."
	// Setup declares the command's flags on fs and returns the function
	// that runs it; that function sees the parsed flag values through its
	// closure and gets the positional arguments left after the flags.
	Setup func(fs *flag.FlagSet) runFunc
}

type runFunc func(ctx context.Context, e *env, args []string) error

// env is what every subcommand gets from main: streams and a logger.
type env struct {
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("laned: duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

// errUsage marks an error caused by how the command was called; main prints
// the usage after it and exits 2.
var errUsage = errors.New("usage")

func usageErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

func main() {
	ctx, stop := interruptContext(os.Exit)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// interruptContext returns a context cancelled by the first SIGINT or
// SIGTERM; a second one calls exit(130) at once, for a command stuck where
// its context cannot reach (signal.NotifyContext would swallow it).
func interruptContext(exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sig:
			fmt.Fprintln(os.Stderr, "laned: interrupted twice, exiting now")
			exit(130)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sig)
			close(done)
			cancel()
		})
	}
}

// run dispatches args to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	level := slog.LevelInfo
	if os.Getenv("LANED_DEBUG") != "" {
		level = slog.LevelDebug
	}
	e := &env{
		Stdout: stdout,
		Stderr: stderr,
		Log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	c, rest := lookup(args)
	if c == nil {
		if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
			fmt.Fprintf(stderr, "laned: unknown command %q\n\n", strings.Join(args, " "))
			printCommands(stderr)
			return 2
		}
		printCommands(stdout)
		return 0
	}
	fs := flag.NewFlagSet("laned "+c.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: laned %s %s\n  %s\n", c.Name, c.Usage, c.Short)
		fs.PrintDefaults()
	}
	runCmd := c.Setup(fs)
	if err := fs.Parse(interleave(fs, rest)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := runCmd(ctx, e, fs.Args()); err != nil {
		fmt.Fprintf(stderr, "laned %s: %v\n", c.Name, err)
		if errors.Is(err, errUsage) {
			fs.Usage()
			return 2
		}
		return 1
	}
	return 0
}

// lookup finds the longest registered command name that prefixes args.
func lookup(args []string) (*command, []string) {
	for n := min(len(args), 3); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, args
}

// interleave moves flags that follow positional arguments to the front, so
// that "laned detect a.jpg --json" works like "laned detect --json a.jpg".
// Arguments after "--" stay positional (the "--" is kept in front of the
// positional arguments, so the flag package stops there).
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil {
				if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
					continue
				}
				if i+1 < len(args) {
					i++
					flags = append(flags, args[i])
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(append(flags, "--"), pos...)
}

func printCommands(w io.Writer) {
	fmt.Fprintln(w, "usage: laned COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, commands[n].Short)
	}
	fmt.Fprintln(w, "\nrun 'laned COMMAND -h' for a command's flags")
}
