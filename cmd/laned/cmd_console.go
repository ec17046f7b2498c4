package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/console"
	"github.com/laned/laned/internal/localapi"
)

// defaultSocket is the console socket; LANED_CONSOLE_SOCKET overrides it.
func defaultSocket() string {
	if s := os.Getenv("LANED_CONSOLE_SOCKET"); s != "" {
		return s
	}
	return console.DefaultConfig().Socket
}

func init() {
	register(&command{
		Name:  "console",
		Short: "interactive technician console on the booth (line editing, history)",
		Usage: "[--socket PATH]",
		Setup: func(fs *flag.FlagSet) runFunc {
			sock := fs.String("socket", defaultSocket(), "console socket")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q (use 'laned ctl' for one command)", args)
				}
				return runConsole(ctx, e, *sock)
			}
		},
	})
	register(&command{
		Name:  "console passwd",
		Short: "set a serial-console user's password and role (root, on the booth)",
		Usage: "[--users FILE] [--role viewer|technician] [--stdin] USER",
		Setup: func(fs *flag.FlagSet) runFunc {
			users := fs.String("users", console.DefaultConfig().Users, "credential file (0600)")
			role := fs.String("role", "technician", "role: viewer or technician")
			stdin := fs.Bool("stdin", false, "read the password from standard input (provisioning scripts), not the terminal")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want one user name")
				}
				r, err := console.ParseRole(*role)
				if err != nil {
					return usageErrorf("%v", err)
				}
				return runConsolePasswd(e, *users, args[0], r, *stdin)
			}
		},
	})
	register(&command{
		Name:  "console users",
		Short: "list serial-console users and their roles",
		Usage: "[--users FILE]",
		Setup: func(fs *flag.FlagSet) runFunc {
			users := fs.String("users", console.DefaultConfig().Users, "credential file")
			return func(ctx context.Context, e *env, args []string) error {
				u, err := console.LoadUsers(*users)
				if err != nil {
					return err
				}
				if u.Len() == 0 {
					fmt.Fprintf(e.Stdout, "no console users in %s: nobody can log in on the serial port (set one with 'laned console passwd USER')\n", *users)
				}
				for _, x := range u.Names() {
					fmt.Fprintf(e.Stdout, "%-20s %s\n", x.Name, x.Role)
				}
				return nil
			}
		},
	})
	register(&command{
		Name:  "console deluser",
		Short: "remove a serial-console user (root)",
		Usage: "[--users FILE] USER",
		Setup: func(fs *flag.FlagSet) runFunc {
			users := fs.String("users", console.DefaultConfig().Users, "credential file")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want one user name")
				}
				if os.Geteuid() != 0 {
					return errors.New("must be run as root on the booth")
				}
				u, err := console.LoadUsers(*users)
				if err != nil {
					return err
				}
				return u.Delete(args[0])
			}
		},
	})
	register(&command{
		Name:  "console serve",
		Short: "serve the console socket and serial port without the daemon (laned-console@.service)",
		Usage: "[--socket PATH|none] [--serial DEVICE] [--baud N] [--users FILE] [--idle D]",
		Setup: func(fs *flag.FlagSet) runFunc {
			def := console.DefaultConfig()
			sock := fs.String("socket", defaultSocket(), `console socket ("none": serial only)`)
			group := fs.String("socket-group", def.SocketGroup, "group of the socket file")
			serial := fs.String("serial", "", "serial device, e.g. /dev/ttyS0")
			baud := fs.Int("baud", def.Serial.Baud, "serial baud rate")
			users := fs.String("users", def.Users, "credential file for serial logins")
			idle := fs.Duration("idle", def.IdleTimeout, "idle logout")
			modelDir := fs.String("model-dir", "", "model directory for 'models' (default as 'laned models verify')")
			api := fs.String("api-socket", config.DefaultSocket, "local API socket of the daemon, asked first (\"none\": never)")
			return func(ctx context.Context, e *env, args []string) error {
				cfg := def
				cfg.Socket, cfg.SocketGroup = *sock, *group
				if *sock == "none" {
					cfg.Socket = ""
				}
				cfg.Serial = console.SerialConfig{Device: *serial, Baud: *baud}
				cfg.Users, cfg.IdleTimeout = *users, *idle
				return runConsoleServe(ctx, e, cfg, *modelDir, *api)
			}
		},
	})
}

func runConsoleServe(ctx context.Context, e *env, cfg console.Config, modelDir, api string) error {
	log := e.Log.With("component", "console")
	u, err := console.LoadUsers(cfg.Users)
	if err != nil {
		return err
	}
	if cfg.Serial.Device != "" && u.Len() == 0 {
		log.Warn("no console users: nobody can log in on the serial port; set one with 'laned console passwd USER'", "file", cfg.Users)
	}
	audit := console.SlogAuditor{Log: log}
	var backend console.Backend = &console.Offline{ModelDir: modelDir, Checks: consoleChecks(offlineChecks(modelDir))}
	if api != "none" { // the daemon answers while it runs; the offline backend when it is down
		backend = localapi.Fallback{Daemon: localapi.NewClient(api).Console(), Offline: backend}
	}
	in, err := console.NewInterpreter(backend, audit, clock.Real{}, nil)
	if err != nil {
		return err
	}
	srv, err := console.NewServer(cfg, console.Deps{Interp: in, Users: u, Audit: audit, Clock: clock.Real{}, Log: e.Log})
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Run(ctx)
}

func runConsolePasswd(e *env, path, name string, role console.Role, fromStdin bool) error {
	if os.Geteuid() != 0 {
		return errors.New("must be run as root on the booth (the first password is set locally)")
	}
	if !console.ValidUserName(name) {
		return usageErrorf("bad user name %q (lower case letters, digits, _ . -; at most 32)", name)
	}
	var pw string
	if fromStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return fmt.Errorf("password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("no terminal to read the password from (use --stdin): %w", err)
		}
		defer tty.Close()
		read := func(prompt string) (string, error) {
			fmt.Fprint(tty, prompt)
			b, err := term.ReadPassword(int(tty.Fd()))
			fmt.Fprintln(tty)
			return string(b), err
		}
		if pw, err = read("new password for " + name + ": "); err != nil {
			return err
		}
		again, err := read("again: ")
		if err != nil {
			return err
		}
		if again != pw {
			return errors.New("the two passwords differ; nothing changed")
		}
	}
	_, statErr := os.Stat(path)
	u, err := console.LoadUsers(path)
	if err != nil {
		return err
	}
	if err := u.Set(name, role, pw, console.DefaultParams); err != nil {
		return err
	}
	if os.IsNotExist(statErr) {
		// A new file belongs to the daemon's user, which must read it.
		if lu, err := user.Lookup("laned"); err == nil {
			uid, _ := strconv.Atoi(lu.Uid)
			gid, _ := strconv.Atoi(lu.Gid)
			if err := os.Chown(path, uid, gid); err != nil {
				return fmt.Errorf("console users %s: %w", path, err)
			}
		}
	}
	fmt.Fprintf(e.Stdout, "console user %s (%s) set in %s\n", name, role, path)
	return nil
}

// runConsole is the interactive client: raw terminal, x/term's line editor
// with history, Ctrl-C interrupts the running command, Ctrl-D leaves.
func runConsole(ctx context.Context, e *env, socket string) error {
	c, err := console.Dial(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return consoleScript(ctx, e, c, os.Stdin)
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	defer term.Restore(fd, old)
	keys := newKeyReader(os.Stdin)
	mark := ">"
	if c.Hello.Role == "technician" {
		mark = "#"
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{keys, os.Stdout}, c.Hello.User+"@laned"+mark+" ")
	if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
		t.SetSize(w, h) // a terminal that reports 0×0 keeps x/term's 80×24
	}
	fmt.Fprintf(t, "laned console: %s (%s); 'help' lists commands, Ctrl-C stops a command, Ctrl-D leaves\n", c.Hello.User, c.Hello.Role)
	for {
		line, err := t.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil // Ctrl-D
		}
		if err != nil && !errors.Is(err, term.ErrPasteIndicator) {
			return err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		cctx, cancel := context.WithCancel(ctx)
		stop := keys.interruptOn(cancel)
		d, err := c.Exec(cctx, line, t, saveFile(t))
		stop()
		cancel()
		if err != nil {
			return err
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil
		}
		if d.Command == "logout" || d.Command == "exit" || d.Command == "quit" {
			return nil
		}
	}
}

// consoleScript runs lines from a non-terminal stdin, one after another;
// it fails on the first failed command.
func consoleScript(ctx context.Context, e *env, c *console.Client, r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		d, err := c.Exec(ctx, line, e.Stdout, saveFile(e.Stdout))
		if err != nil {
			return err
		}
		if !d.OK {
			return fmt.Errorf("%s: %s", line, d.Error)
		}
	}
	return sc.Err()
}

// saveFile writes a file the console sent (a snapshot) to the caller's
// directory, mode 0600 (biometric), never over an existing file.
func saveFile(w io.Writer) func(console.File) error {
	return func(f console.File) error {
		if f.Name == "" || slices.Contains(strings.Split(filepath.ToSlash(f.Name), "/"), "..") {
			return fmt.Errorf("refusing to save %q: not a plain file name", f.Name)
		}
		out, err := os.OpenFile(f.Name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("save %s: %w", f.Name, err)
		}
		if _, err := out.Write(f.Data); err != nil {
			out.Close()
			os.Remove(f.Name)
			return fmt.Errorf("save %s: %w", f.Name, err)
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("save %s: %w", f.Name, err)
		}
		fmt.Fprintf(w, "saved %s (%d bytes, mode 0600: delete it when aiming is done)\n", f.Name, len(f.Data))
		return nil
	}
}

// keyReader owns stdin: one goroutine reads it, the line editor takes the
// bytes, and while a command runs a Ctrl-C cancels it (other keys wait for
// the next prompt).
type keyReader struct {
	ch      chan []byte
	pending []byte
}

func newKeyReader(r io.Reader) *keyReader {
	k := &keyReader{ch: make(chan []byte, 16)}
	go func() {
		for {
			buf := make([]byte, 256)
			n, err := r.Read(buf)
			if n > 0 {
				k.ch <- buf[:n]
			}
			if err != nil {
				close(k.ch)
				return
			}
		}
	}()
	return k
}

func (k *keyReader) Read(p []byte) (int, error) {
	if len(k.pending) == 0 {
		b, ok := <-k.ch
		if !ok {
			return 0, io.EOF
		}
		k.pending = b
	}
	n := copy(p, k.pending)
	k.pending = k.pending[n:]
	console.KillCtrlC(p[:n]) // at the prompt Ctrl-C clears the line
	return n, nil
}

// interruptOn watches keys until the returned stop is called: Ctrl-C calls
// cancel; other input is kept for the line editor.
func (k *keyReader) interruptOn(cancel func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case b, ok := <-k.ch:
				if !ok {
					cancel()
					return
				}
				if i := strings.IndexByte(string(b), 3); i >= 0 {
					cancel()
					b = append(b[:i:i], b[i+1:]...)
				}
				k.pending = append(k.pending, b...)
			}
		}
	}()
	return func() { close(done); <-finished }
}
