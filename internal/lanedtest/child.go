package lanedtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ChildEnv is set, to the test's name, in a child started by StartChild.
const ChildEnv = "LANED_TEST_CHILD"

// IsChild reports whether this process is the child StartChild started
// to run test. The child's test body starts with
//
//	if !lanedtest.IsChild("TestX") { t.Skip("child of TestY") }
func IsChild(test string) bool { return os.Getenv(ChildEnv) == test }

// Child is a copy of the test binary running one test, to be killed with
// SIGKILL at a moment the parent chooses (the process dies, the page cache
// survives: a crash, not a power cut). Its stdout is read line by line.
type Child struct {
	t     testing.TB
	name  string
	cmd   *exec.Cmd
	lines chan string
	quit  chan struct{} // closed at cleanup: unread lines are dropped
	exit  chan struct{} // closed when the process has exited
	err   error         // Wait's result, valid after exit
}

// StartChild starts the test binary running only test, with env added to
// this process's environment. The child dies with the parent (Pdeathsig)
// and is killed at the end of the parent test if still running.
func StartChild(t testing.TB, test string, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.timeout=0", "-test.v=false")
	cmd.Env = append(append(os.Environ(), ChildEnv+"="+test), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// An os.Pipe rather than StdoutPipe: the process can be waited for
	// (Kill) independently of reading what it wrote.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		t.Fatalf("start child %s: %v", test, err)
	}
	w.Close()
	c := &Child{t: t, name: test, cmd: cmd, lines: make(chan string, 1024), quit: make(chan struct{}), exit: make(chan struct{})}
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			case <-c.quit:
			}
		}
		close(c.lines)
	}()
	go func() {
		c.err = cmd.Wait()
		close(c.exit)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exit:
		default:
			c.Kill()
		}
		close(c.quit)
	})
	return c
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Lines delivers the child's stdout lines; it is closed at exit.
func (c *Child) Lines() <-chan string { return c.lines }

// WaitLine returns the first line starting with prefix, discarding the
// lines before it. It fails when the child exits first or after timeout.
func (c *Child) WaitLine(prefix string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				<-c.exit
				return "", fmt.Errorf("child %s exited (%v) before printing %q", c.name, c.err, prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
		case <-deadline:
			return "", fmt.Errorf("child %s did not print %q in %s", c.name, prefix, timeout)
		}
	}
}

// ErrExitedByItself is returned by Kill for a child that was already gone:
// it failed (or finished) on its own, which a crash test must not count as
// a kill.
var ErrExitedByItself = errors.New("child exited by itself before the kill")

// Kill sends SIGKILL and waits for the exit. It returns
// ErrExitedByItself (with the exit status) when the child had exited
// before, so a failing child is a failure, not a kill. Lines the child
// wrote before dying can still be read.
func (c *Child) Kill() error {
	select {
	case <-c.exit:
		return fmt.Errorf("%w: %s: %v", ErrExitedByItself, c.name, c.err)
	default:
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exit
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("%w: %s: %v", ErrExitedByItself, c.name, c.err)
	}
	return nil
}

// Wait waits for the child to exit by itself and returns its exit error.
// A child that writes much more than the buffer of Lines blocks until
// they are read.
func (c *Child) Wait() error {
	<-c.exit
	return c.err
}

// Signal sends sig to the child (SIGTERM: a clean stop).
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Exited is closed when the child has exited.
func (c *Child) Exited() <-chan struct{} { return c.exit }
