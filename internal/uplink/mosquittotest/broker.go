package mosquittotest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is where the Debian package installs the broker.
const Binary = "/usr/sbin/mosquitto"

// Options configure a broker.
type Options struct {
	// TLS adds listeners: TLSPort (good certificate, client certificate
	// required), ExpiredPort, WrongHostPort (no client certificate needed).
	TLS bool
	// Persistence keeps sessions, subscriptions, queued and retained
	// messages in the temp dir across Stop/Restart (saved at shutdown) and
	// Kill/Restart (only what was autosaved survives).
	Persistence bool
	// AutosaveInterval is mosquitto's autosave_interval in seconds
	// (default 1).
	AutosaveInterval int
	// Users maps user names to passwords; when set, anonymous access is
	// refused on every listener.
	Users map[string]string
	// MaxPacket is message_size_limit in bytes (0: broker default).
	MaxPacket int
}

// Broker is a running (or stopped) mosquitto.
type Broker struct {
	t    testing.TB
	opts Options
	dir  string
	conf string
	log  string

	Port, TLSPort, ExpiredPort, WrongHostPort int
	Certs                                     *Certs

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Available reports whether mosquitto is installed.
func Available() bool {
	_, err := os.Stat(Binary)
	return err == nil
}

// Start starts a broker for the test and stops it in t.Cleanup. It skips
// the test when mosquitto is not installed.
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	if !Available() {
		t.Skipf("mosquitto not installed at %s (Debian: apt-get install mosquitto); skipping broker test", Binary)
	}
	b := &Broker{t: t, opts: opts, dir: t.TempDir()}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	b.log = filepath.Join(b.dir, "mosquitto.log")
	var err error
	if opts.TLS {
		if b.Certs, err = GenerateCerts(b.dir); err != nil {
			t.Fatal(err)
		}
	}
	for attempt := 0; ; attempt++ {
		b.Port = FreePort(t)
		if opts.TLS {
			b.TLSPort, b.ExpiredPort, b.WrongHostPort = FreePort(t), FreePort(t), FreePort(t)
		}
		if err = b.writeConfig(); err != nil {
			t.Fatal(err)
		}
		if err = b.start(); err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("mosquittotest: %v", err)
		}
	}
	t.Cleanup(func() { b.Stop() })
	return b
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mosquittotest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (b *Broker) writeConfig() error {
	var c strings.Builder
	fmt.Fprintf(&c, "per_listener_settings false\nlog_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n", b.log)
	if u, err := user.Current(); err == nil {
		// As root, mosquitto would drop to the "mosquitto" user, which
		// cannot read the test's temp dir.
		fmt.Fprintf(&c, "user %s\n", u.Username)
	}
	fmt.Fprintf(&c, "max_queued_messages 0\nmax_inflight_messages 0\nmax_keepalive 65535\n")
	if b.opts.MaxPacket > 0 {
		fmt.Fprintf(&c, "message_size_limit %d\n", b.opts.MaxPacket)
	}
	if b.opts.Persistence {
		// Saved at shutdown (Stop) and every AutosaveInterval seconds. Saving
		// on every change would make mosquitto rewrite its whole database
		// per message (quadratic under load).
		fmt.Fprintf(&c, "persistence true\npersistence_location %s/\nautosave_interval %d\n", b.dir, max(1, b.opts.AutosaveInterval))
	}
	if len(b.opts.Users) > 0 {
		pw := filepath.Join(b.dir, "passwd")
		var lines []string
		for u, p := range b.opts.Users {
			lines = append(lines, u+":"+p)
		}
		if err := os.WriteFile(pw, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			return err
		}
		if out, err := exec.Command("mosquitto_passwd", "-U", pw).CombinedOutput(); err != nil {
			return fmt.Errorf("mosquitto_passwd -U: %v: %s", err, out)
		}
		fmt.Fprintf(&c, "allow_anonymous false\npassword_file %s\n", pw)
	} else {
		fmt.Fprintf(&c, "allow_anonymous true\n")
	}
	fmt.Fprintf(&c, "listener %d 127.0.0.1\n", b.Port)
	if b.opts.TLS {
		cs := b.Certs
		fmt.Fprintf(&c, "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n", b.TLSPort, cs.CA, cs.Server, cs.ServerKey)
		fmt.Fprintf(&c, "listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n", b.ExpiredPort, cs.Expired, cs.ExpiredKey)
		fmt.Fprintf(&c, "listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n", b.WrongHostPort, cs.WrongHost, cs.WrongHostKey)
	}
	return os.WriteFile(b.conf, []byte(c.String()), 0o600)
}

func (b *Broker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return errors.New("already running")
	}
	cmd := exec.Command(Binary, "-c", b.conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	ports := []int{b.Port}
	if b.opts.TLS {
		ports = append(ports, b.TLSPort, b.ExpiredPort, b.WrongHostPort)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range ports {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				return fmt.Errorf("mosquitto exited at start: %s\n%s", out.String(), b.LogTail())
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-done
				return fmt.Errorf("mosquitto did not listen on %d within 10s\n%s", p, b.LogTail())
			}
			time.Sleep(5 * time.Millisecond) // polling a real process, not test timing
		}
	}
	b.cmd, b.done = cmd, done
	return nil
}

// URL is the plain TCP listener's URL.
func (b *Broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.Port) }

// Addr is the plain TCP listener's address.
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.Port) }

// TLSURL is the URL of a TLS listener port.
func (b *Broker) TLSURL(port int) string { return fmt.Sprintf("ssl://127.0.0.1:%d", port) }

// Running reports whether the broker process is up.
func (b *Broker) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmd != nil
}

func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Stop stops the broker gracefully (SIGTERM: it saves persistence).
// Stopping a stopped broker does nothing.
func (b *Broker) Stop() { b.signal(syscall.SIGTERM) }

// Kill kills the broker (SIGKILL: whatever was not autosaved is lost).
func (b *Broker) Kill() { b.signal(syscall.SIGKILL) }

// Restart starts a stopped broker again on the same ports and config.
func (b *Broker) Restart() {
	b.t.Helper()
	var err error
	for range 50 { // the port may linger briefly after a kill
		if err = b.start(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.t.Fatalf("mosquittotest: restart: %v", err)
}

// LogTail returns the end of the broker's log for failure messages.
func (b *Broker) LogTail() string {
	data, _ := os.ReadFile(b.log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}
