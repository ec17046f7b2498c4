package uplink

import (
	"errors"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// refusedClient fails every Connect like a closed port and counts attempts.
type refusedClient struct{ attempts chan<- struct{} }

func countingClient(attempts chan<- struct{}) func(*mqtt.ClientOptions) Client {
	return func(*mqtt.ClientOptions) Client { return refusedClient{attempts} }
}

func (c refusedClient) Connect() mqtt.Token {
	c.attempts <- struct{}{}
	return doneToken{errors.Join(errors.New("dial tcp 127.0.0.1:1"), syscall.ECONNREFUSED)}
}
func (refusedClient) Publish(string, byte, bool, any) mqtt.Token {
	return doneToken{mqtt.ErrNotConnected}
}
func (refusedClient) Disconnect(uint)        {}
func (refusedClient) IsConnectionOpen() bool { return false }

type doneToken struct{ err error }

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (doneToken) Wait() bool                     { return true }
func (doneToken) WaitTimeout(time.Duration) bool { return true }
func (doneToken) Done() <-chan struct{}          { return closedCh }
func (t doneToken) Error() error                 { return t.err }

// poisonClient is a broker that drops the connection whenever a payload
// containing "poison" is published (as MQTT 3.1.1 brokers refuse), and
// PUBACKs everything else.
type poisonClient struct {
	o    *mqtt.ClientOptions
	mu   sync.Mutex
	open bool
}

func newPoisonClient(o *mqtt.ClientOptions) Client { return &poisonClient{o: o} }

func (c *poisonClient) Connect() mqtt.Token {
	c.mu.Lock()
	c.open = true
	c.mu.Unlock()
	return doneToken{}
}

func (c *poisonClient) Publish(_ string, _ byte, _ bool, payload any) mqtt.Token {
	if !strings.Contains(string(payload.([]byte)), "poison") {
		return doneToken{}
	}
	t := &pendingToken{done: make(chan struct{})}
	go func() {
		c.mu.Lock()
		c.open = false
		c.mu.Unlock()
		c.o.OnConnectionLost(nil, errors.New("EOF"))
		t.err = errors.New("connection lost before Publish completed")
		close(t.done)
	}()
	return t
}

func (c *poisonClient) Disconnect(uint) {}
func (c *poisonClient) IsConnectionOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

type pendingToken struct {
	done chan struct{}
	err  error
}

func (t *pendingToken) Wait() bool                     { <-t.done; return true }
func (t *pendingToken) WaitTimeout(time.Duration) bool { <-t.done; return true }
func (t *pendingToken) Done() <-chan struct{}          { return t.done }
func (t *pendingToken) Error() error                   { <-t.done; return t.err }
