package uplink

import (
	"errors"
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
