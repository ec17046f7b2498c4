package demo

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"syscall"
	"time"
)

// Broker is a mosquitto on a free loopback port, for the demo only.
type Broker struct {
	Port int
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// StartBroker runs mosquitto with a configuration in dir (which must exist).
func StartBroker(dir string) (*Broker, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
				break
			}
		}
		if err != nil {
			return nil, errors.New("demo: mosquitto is not installed (make demo's set-up installs it)")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: free port: %w", err)
	}
	b := &Broker{Port: l.Addr().(*net.TCPAddr).Port, log: filepath.Join(dir, "mosquitto.log")}
	l.Close()
	conf := fmt.Sprintf("per_listener_settings false\nlog_dest file %s\nallow_anonymous true\nmax_queued_messages 0\nlistener %d 127.0.0.1\n", b.log, b.Port)
	if u, err := user.Current(); err == nil {
		conf += "user " + u.Username + "\n" // as root mosquitto would drop to a user that cannot write here
	}
	cp := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(cp, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	var out bytes.Buffer
	b.cmd = exec.Command(bin, "-c", cp)
	b.cmd.Stdout, b.cmd.Stderr = &out, &out
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("demo: start mosquitto: %w", err)
	}
	b.done = make(chan struct{})
	go func() { b.cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return b, nil
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("demo: mosquitto exited at start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Stop()
			return nil, fmt.Errorf("demo: mosquitto did not listen on %d within 10 s", b.Port)
		}
		time.Sleep(10 * time.Millisecond) // waiting for a real process to listen
	}
}

// Addr and URL are the broker's listener.
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.Port) }
func (b *Broker) URL() string  { return "tcp://" + b.Addr() }

// Stop ends the broker and waits for it.
func (b *Broker) Stop() {
	if b.cmd.Process != nil {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			b.cmd.Process.Kill()
			<-b.done
		}
	}
}
