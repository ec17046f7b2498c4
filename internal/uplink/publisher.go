package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/tlsfiles"
)

// Client is the part of paho's mqtt.Client the publisher uses (declared
// here, by its consumer, so the logic can be driven by a fake as well).
type Client interface {
	Connect() mqtt.Token
	Publish(topic string, qos byte, retained bool, payload any) mqtt.Token
	Disconnect(quiesce uint)
	IsConnectionOpen() bool
}

// Outbox is the part of *outbox.Outbox the publisher uses.
type Outbox interface {
	PendingAfter(after uint64, max int) ([]outbox.Message, error)
	Ack(seqs ...uint64) error
	Reject(seq uint64, reason string) error
	Quarantine(seq uint64, reason string) error
	Notify() <-chan struct{}
}

// Options configure New.
type Options struct {
	Config  Config // after WithDefaults; New validates it
	Outbox  Outbox
	Version string       // laned's version, in the status payload
	Clock   clock.Clock  // default clock.Real
	Logger  *slog.Logger // default slog.Default
	// NewClient makes the client for one connection attempt. Default
	// mqtt.NewClient.
	NewClient func(*mqtt.ClientOptions) Client
	// Rand returns a number in [0, 1) for jitter. Default math/rand/v2.
	Rand func() float64
}

// Publisher sends the outbox to the broker. See the package comment.
type Publisher struct {
	cfg      Config
	ob       Outbox
	clk      clock.Clock
	log      *slog.Logger
	version  string
	newCl    func(*mqtt.ClientOptions) Client
	rnd      func() float64
	tls      *tls.Config
	password string

	stallSeq uint64 // head message of the last stalled sessions (Run's goroutine only)
	stalls   int

	mu     sync.Mutex
	st     Status
	cancel context.CancelFunc
	closed bool
	done   chan struct{}
}

// New checks the configuration, loads TLS files and returns a publisher.
// It does not connect: Run does, and keeps retrying.
func New(o Options) (*Publisher, error) {
	if o.Outbox == nil {
		return nil, errors.New("uplink: no outbox")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if err := o.Config.CheckFiles(); err != nil {
		return nil, err
	}
	p := &Publisher{cfg: o.Config, ob: o.Outbox, clk: o.Clock, log: o.Logger, version: o.Version,
		newCl: o.NewClient, rnd: o.Rand, done: make(chan struct{})}
	if p.clk == nil {
		p.clk = clock.Real{}
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("component", "uplink") // site and lane: the caller's logger (top-level identity)
	if p.newCl == nil {
		p.newCl = func(o *mqtt.ClientOptions) Client { return mqtt.NewClient(o) }
	}
	if p.rnd == nil {
		p.rnd = rand.Float64
	}
	if p.version == "" {
		p.version = "dev"
	}
	var err error
	if p.tls, err = loadTLS(p.cfg.TLS); err != nil {
		return nil, err
	}
	p.password = p.cfg.Password
	pw, err := p.cfg.passwordPath()
	if err != nil {
		return nil, err
	}
	if pw != "" {
		b, err := os.ReadFile(pw)
		if err != nil {
			return nil, fmt.Errorf("uplink password: %w", err)
		}
		p.password = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
	}
	p.st = Status{State: StateStopped, Since: p.clk.Now()}
	return p, nil
}

func loadTLS(c TLSConfig) (*tls.Config, error) {
	t, err := tlsfiles.Client(c.CA, c.Cert, c.Key, c.ServerName)
	if err != nil {
		return nil, fmt.Errorf("uplink.tls: %w", err)
	}
	return t, nil
}

// Status returns what the publisher is doing and why.
func (p *Publisher) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *Publisher) update(f func(*Status)) {
	p.mu.Lock()
	f(&p.st)
	p.mu.Unlock()
}

func (p *Publisher) setState(s State, broker string, err error) {
	p.update(func(st *Status) {
		if st.State != s {
			st.Since = p.clk.Now()
		}
		st.State, st.Broker = s, broker
		st.Reason = ""
		if s != StateConnected {
			st.InFlight = 0
		}
		if err != nil {
			st.LastError = err.Error()
			st.Reason = Classify(err)
		}
	})
}

// Close stops Run (it returns after sending the offline status when it
// can) and waits for it. It is idempotent and safe before Run.
func (p *Publisher) Close() error {
	p.mu.Lock()
	cancel, closed := p.cancel, p.closed
	p.closed = true
	p.mu.Unlock()
	if closed {
		return nil
	}
	if cancel != nil {
		cancel()
		<-p.done
	}
	return nil
}

// Run connects, publishes and reconnects until ctx is done or Close.
// It returns nil then; it never gives up on an unreachable broker.
func (p *Publisher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	if p.closed || p.cancel != nil {
		p.mu.Unlock()
		cancel()
		return errors.New("uplink: Run called twice or after Close")
	}
	p.cancel = cancel
	p.mu.Unlock()
	defer close(p.done)
	defer cancel()

	for round := 0; ctx.Err() == nil; {
		var lastErr error
		for _, url := range p.cfg.Brokers {
			if ctx.Err() != nil {
				break
			}
			p.setState(StateConnecting, url, lastErr)
			cl, lost, since, err := p.connect(ctx, url)
			if err != nil {
				lastErr = err
				p.setState(StateConnecting, url, err)
				p.log.Warn("uplink connect failed", "broker", url, "reason", Classify(err), "err", err)
				continue
			}
			round = 0
			p.update(func(s *Status) { s.Connects++ })
			p.setState(StateConnected, url, nil)
			p.log.Info("uplink connected", "broker", url)
			err = p.session(ctx, cl, lost, since)
			if ctx.Err() != nil {
				break
			}
			p.noteStall(err)
			lastErr = fmt.Errorf("%w: %w", ErrConnectionLost, err)
			p.setState(StateConnecting, url, lastErr)
			p.log.Warn("uplink connection lost", "broker", url, "err", err)
		}
		if ctx.Err() != nil {
			break
		}
		d := p.backoff(round)
		round++
		p.update(func(s *Status) { s.NextRetry = p.clk.Now().Add(d) })
		t := p.clk.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C():
		}
	}
	p.update(func(s *Status) { s.State, s.Since, s.InFlight = StateStopped, p.clk.Now(), 0 })
	return nil
}

// backoff is the delay after round consecutive failed rounds.
func (p *Publisher) backoff(round int) time.Duration {
	d := p.cfg.BackoffMin
	for i := 0; i < round && d < p.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.BackoffMax)
	j := 1 + p.cfg.Jitter*(2*p.rnd()-1)
	return time.Duration(float64(d) * j)
}

func (p *Publisher) statusPayload(state, reason string, since time.Time) []byte {
	s := since.UTC()
	b, err := summary.Marshal(&summary.Status{SchemaVersion: summary.SchemaVersion, Kind: summary.KindStatus,
		Site: p.cfg.Site, Lane: p.cfg.Lane, State: state, Version: p.version, Since: &s, Reason: reason})
	if err != nil { // only a bad version string could do this
		p.log.Error("uplink status payload", "err", err)
	}
	return b
}

func isTLS(url string) bool {
	for _, p := range []string{"ssl://", "tls://", "mqtts://"} {
		if strings.HasPrefix(url, p) {
			return true
		}
	}
	return false
}

// connect makes one attempt on one broker. lost receives the reason when
// the connection drops.
func (p *Publisher) connect(ctx context.Context, url string) (Client, <-chan error, time.Time, error) {
	since := p.clk.Now()
	lost := make(chan error, 1)
	o := mqtt.NewClientOptions().
		AddBroker(url).
		SetClientID(p.cfg.ClientID).
		SetProtocolVersion(4).
		// The outbox is the source of truth: a clean session and paho's
		// memory store, so nothing depends on paho's store surviving a
		// power cut (paho #681); and no paho auto-reconnect or connect
		// retry, so no message is queued inside paho before the first
		// connection (paho #438). Unacknowledged messages are re-sent
		// from the outbox after each reconnect.
		SetCleanSession(true).
		SetStore(mqtt.NewMemoryStore()).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(p.cfg.KeepAlive).
		SetPingTimeout(min(p.cfg.KeepAlive, 10*time.Second)).
		SetConnectTimeout(p.cfg.ConnectTimeout).
		SetWriteTimeout(p.cfg.ConnectTimeout).
		SetOrderMatters(false).
		SetTLSConfig(p.tls.Clone()).
		SetBinaryWill(p.cfg.topic("status"), p.statusPayload("offline", "connection lost (last will)", since), 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if p.cfg.Username != "" {
		o.SetUsername(p.cfg.Username).SetPassword(p.password)
	}
	cl := p.newCl(o)
	tok := cl.Connect()
	t := p.clk.NewTimer(p.cfg.ConnectTimeout + time.Second)
	defer t.Stop()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		go cl.Disconnect(0)
		return nil, nil, since, ctx.Err()
	case <-t.C():
		go cl.Disconnect(0)
		return nil, nil, since, fmt.Errorf("connect %s: %w", url, errConnectTimeout)
	}
	if err := tok.Error(); err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
			// The broker hung up before CONNACK: no reason of its own.
			if isTLS(url) {
				return nil, nil, since, fmt.Errorf("connect %s: %w: %w", url, errTLSClosed, err)
			}
			return nil, nil, since, fmt.Errorf("connect %s: %w: %w", url, errClosed, err)
		}
		return nil, nil, since, fmt.Errorf("connect %s: %w", url, err)
	}
	return cl, lost, since, nil
}
