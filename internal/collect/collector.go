package collect

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/tlsfiles"
)

// Store is what a collector needs of the database (*store.DB).
type Store interface {
	Commit(ctx context.Context, b store.Batch) (store.Result, error)
	Retain(ctx context.Context, now time.Time, p store.Retention) ([]store.Deletion, error)
	Report(ctx context.Context, now time.Time, grace, silent time.Duration) (store.Report, error)
	Register(ctx context.Context, lanes [][2]string) error
	Ping(ctx context.Context) error
}

// Options configure New.
type Options struct {
	Config Config // WithDefaults is applied
	Store  Store
	Clock  clock.Clock  // default clock.Real
	Logger *slog.Logger // default slog.Default
	// NewClient makes the MQTT client (default mqtt.NewClient).
	NewClient func(*mqtt.ClientOptions) mqtt.Client
	// RetryMin and RetryMax bound paho's reconnect interval (defaults 1s, 30s).
	RetryMin, RetryMax time.Duration
}

// Stats are a collector's counters since New.
type Stats struct {
	Received, Stored, Duplicates, OutOfOrder, Refused, Batches, CommitErrors, GapsOpened int64
}

// Collector consumes the lanes' topics into a Store. See the package comment.
type Collector struct {
	cfg   Config
	st    Store
	clk   clock.Clock
	log   *slog.Logger
	newCl func(*mqtt.ClientOptions) mqtt.Client
	tls   *tls.Config
	in    *ingester
	m     *metrics
	rmin  time.Duration
	rmax  time.Duration

	qmu   sync.Mutex
	queue []item
	wake  chan struct{}

	stats struct {
		received, stored, dups, ooo, refused, batches, commitErrs, gaps atomic.Int64
	}
	connected atomic.Bool

	mu     sync.Mutex
	cancel context.CancelFunc
	closed bool
	done   chan struct{}
}

type item struct {
	topic   string
	payload []byte
	ack     func()
}

// New validates the configuration and loads TLS files; it does not connect.
func New(o Options) (*Collector, error) {
	if o.Store == nil {
		return nil, errors.New("collect: no store")
	}
	cfg := o.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, st: o.Store, clk: o.Clock, log: o.Logger, newCl: o.NewClient, in: newIngester(cfg),
		wake: make(chan struct{}, 1), done: make(chan struct{}), rmin: o.RetryMin, rmax: o.RetryMax}
	if c.clk == nil {
		c.clk = clock.Real{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "collect", "client_id", cfg.ClientID)
	if c.newCl == nil {
		c.newCl = mqtt.NewClient
	}
	if c.rmin <= 0 {
		c.rmin = time.Second
	}
	if c.rmax < c.rmin {
		c.rmax = max(c.rmin, 30*time.Second)
	}
	var err error
	if c.tls, err = tlsfiles.Client(cfg.CA, cfg.Cert, cfg.Key, cfg.ServerName); err != nil {
		return nil, fmt.Errorf("collect.tls: %w", err)
	}
	c.m = newMetrics(func() float64 { return float64(c.QueueDepth()) }, c.figures)
	return c, nil
}

// Stats returns the counters.
func (c *Collector) Stats() Stats {
	s := &c.stats
	return Stats{Received: s.received.Load(), Stored: s.stored.Load(), Duplicates: s.dups.Load(), OutOfOrder: s.ooo.Load(),
		Refused: s.refused.Load(), Batches: s.batches.Load(), CommitErrors: s.commitErrs.Load(), GapsOpened: s.gaps.Load()}
}

// Connected reports whether the collector is connected to a broker.
func (c *Collector) Connected() bool { return c.connected.Load() }

// QueueDepth is how many received messages wait for their commit.
func (c *Collector) QueueDepth() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.queue)
}

// Close stops Run and waits for it; idempotent, safe before Run.
func (c *Collector) Close() error {
	c.mu.Lock()
	cancel, closed := c.cancel, c.closed
	c.closed = true
	c.mu.Unlock()
	if closed {
		return nil
	}
	if cancel != nil {
		cancel()
		<-c.done
	}
	return nil
}

func (c *Collector) clientOptions() *mqtt.ClientOptions {
	o := mqtt.NewClientOptions()
	for _, b := range c.cfg.Brokers {
		o.AddBroker(b)
	}
	filters := map[string]byte{}
	for _, f := range c.cfg.Filters() {
		filters[f] = 1
	}
	o.SetClientID(c.cfg.ClientID).
		SetProtocolVersion(4).
		// A persistent session: the broker queues while the collector is
		// away and redelivers what it did not acknowledge.
		SetCleanSession(false).
		SetResumeSubs(false).
		SetStore(mqtt.NewMemoryStore()).
		// PUBACK only after the commit (Ack in process).
		SetAutoAckDisabled(true).
		// The handler only queues, so in-order dispatch costs nothing.
		SetOrderMatters(true).
		// Messages the broker sends for the stored session before the
		// SUBSCRIBE is answered have no route yet: the default handler
		// takes them, or paho would leave them unacknowledged.
		SetDefaultPublishHandler(c.onMessage).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(c.rmin).
		SetMaxReconnectInterval(c.rmax).
		SetKeepAlive(c.cfg.KeepAlive).
		SetPingTimeout(min(c.cfg.KeepAlive, 10*time.Second)).
		SetConnectTimeout(c.cfg.ConnectTimeout).
		SetWriteTimeout(c.cfg.ConnectTimeout).
		SetTLSConfig(c.tls.Clone()).
		SetOnConnectHandler(func(cl mqtt.Client) {
			c.connected.Store(true)
			c.m.connected.Set(1)
			tok := cl.SubscribeMultiple(filters, nil)
			go func() {
				if !tok.WaitTimeout(c.cfg.ConnectTimeout) {
					c.log.Warn("collect: subscribe not answered", "filters", c.cfg.Filters())
					return
				}
				if err := tok.Error(); err != nil {
					c.log.Error("collect: subscribe refused", "filters", c.cfg.Filters(), "err", err)
					return
				}
				c.log.Info("collect: connected and subscribed", "filters", c.cfg.Filters())
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.connected.Store(false)
			c.m.connected.Set(0)
			c.log.Warn("collect: connection lost; reconnecting (unacknowledged messages will be redelivered)", "err", err)
		})
	if c.cfg.Username != "" {
		o.SetUsername(c.cfg.Username).SetPassword(c.cfg.Password)
	}
	return o
}

func (c *Collector) onMessage(_ mqtt.Client, m mqtt.Message) {
	c.qmu.Lock()
	c.queue = append(c.queue, item{topic: m.Topic(), payload: m.Payload(), ack: m.Ack})
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Collector) take(n int) []item {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	n = min(n, len(c.queue))
	out := make([]item, n)
	copy(out, c.queue)
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return out
}

// Run connects, consumes and commits until ctx is done or Close; it
// returns nil then. Broker and database outages are waited out.
func (c *Collector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	if c.closed || c.cancel != nil {
		c.mu.Unlock()
		cancel()
		return errors.New("collect: Run called twice or after Close")
	}
	c.cancel = cancel
	c.mu.Unlock()
	defer close(c.done)
	defer cancel()

	if len(c.cfg.Lanes) > 0 {
		var lanes [][2]string
		for _, l := range c.cfg.Lanes {
			lanes = append(lanes, [2]string{l.Site, l.Lane})
		}
		if !c.retry(ctx, "register lanes", func() error { return c.st.Register(ctx, lanes) }) {
			return nil
		}
	}
	cl := c.newCl(c.clientOptions())
	cl.Connect() // with ConnectRetry it keeps trying in the background
	c.log.Info("collect: starting", "brokers", c.cfg.Brokers, "filters", c.cfg.Filters())

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.retentionLoop(ctx) }()
	go func() { defer wg.Done(); c.watchLoop(ctx) }()
	// Two stages: while one batch commits, the next is parsed and
	// validated (the database and the CPU work at once).
	prepared := make(chan *batch)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(prepared)
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-c.wake:
			}
			for ctx.Err() == nil {
				items := c.take(c.cfg.BatchMax)
				if len(items) == 0 {
					break
				}
				select {
				case prepared <- c.prepare(items):
				case <-ctx.Done():
				}
			}
		}
	}()
	for p := range prepared {
		c.commit(ctx, p)
	}
	// Whatever is queued was not acknowledged: the broker keeps it.
	cl.Disconnect(250)
	c.connected.Store(false)
	wg.Wait()
	return nil
}

// retry runs fn until it succeeds (true) or ctx ends (false), backing off.
func (c *Collector) retry(ctx context.Context, what string, fn func() error) bool {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt%10 == 0 {
			c.log.Warn("collect: "+what+" failed; retrying", "attempt", attempt+1, "err", err)
		}
		if !c.sleep(ctx, backoff(attempt)) {
			return false
		}
	}
}

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 7)
	return min(d, 5*time.Second)
}

func (c *Collector) sleep(ctx context.Context, d time.Duration) bool {
	t := c.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// batch is a parsed batch waiting for its commit.
type batch struct {
	items []item
	b     store.Batch
	kinds []string // per message of b
}

// prepare parses and classifies items into one store batch.
func (c *Collector) prepare(items []item) *batch {
	now := c.clk.Now()
	p := &batch{items: items, b: store.Batch{ReceivedAt: now}}
	for _, it := range items {
		x := c.in.parse(it.topic, it.payload, now)
		c.m.received.WithLabelValues(leafOf(c.cfg.Prefix, it.topic)).Inc()
		switch {
		case x.refusal != nil:
			p.b.Refusals = append(p.b.Refusals, *x.refusal)
			c.m.refused.WithLabelValues(x.refusal.Code).Inc()
			c.log.Warn("collect: payload refused (quarantined)", "topic", clip(it.topic), "code", x.refusal.Code, "reason", clip(x.refusal.Reason))
		case x.status != nil:
			p.b.Statuses = append(p.b.Statuses, *x.status)
		case x.msg != nil:
			p.kinds = append(p.kinds, x.msg.Kind)
			p.b.Messages = append(p.b.Messages, *x.msg)
		}
	}
	c.stats.received.Add(int64(len(items)))
	return p
}

// commit stores and acknowledges one batch. It returns when the batch is
// committed and acknowledged, or when ctx ends (then nothing of it is
// acknowledged and the broker redelivers it).
func (c *Collector) commit(ctx context.Context, p *batch) {
	b := p.b
	for attempt := 0; ; attempt++ {
		start := time.Now()
		res, err := c.st.Commit(ctx, b)
		if err == nil {
			c.m.commit.Observe(time.Since(start).Seconds())
			c.committed(b, res, p.kinds)
			for _, it := range p.items {
				it.ack()
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		c.stats.commitErrs.Add(1)
		c.m.commitErrs.Inc()
		if attempt%10 == 0 {
			c.log.Warn("collect: commit failed; retrying (nothing acknowledged)", "messages", len(p.items), "attempt", attempt+1, "err", err)
		}
		// A batch the database keeps refusing while it answers pings
		// holds a message it cannot take: commit one by one, and keep a
		// single refused message in quarantine with the database's reason.
		if attempt >= 2 && c.st.Ping(ctx) == nil {
			if len(p.items) > 1 {
				for _, it := range p.items {
					c.commit(ctx, c.prepare([]item{it}))
				}
				return
			}
			if len(b.Messages) == 1 {
				m := b.Messages[0]
				b.Messages, p.kinds = nil, nil
				b.Refusals = append(b.Refusals, store.Refusal{Topic: p.items[0].topic, Site: m.Site, Lane: m.Lane, Code: CodeCommitFailed,
					Reason: fmt.Sprintf("the database refused the message: %v", err), Size: len(m.Payload), Payload: m.Payload})
				c.m.refused.WithLabelValues(CodeCommitFailed).Inc()
				continue
			}
		}
		if !c.sleep(ctx, backoff(attempt)) {
			return
		}
	}
}

func leafOf(prefix, topic string) string {
	if t, err := ParseTopic(prefix, topic); err == nil {
		return t.Leaf
	}
	return "other"
}

func (c *Collector) committed(b store.Batch, res store.Result, kinds []string) {
	c.stats.batches.Add(1)
	c.stats.stored.Add(int64(res.Stored))
	c.stats.dups.Add(int64(res.Duplicates))
	c.stats.ooo.Add(int64(res.OutOfOrder))
	c.stats.refused.Add(int64(res.Refused))
	c.stats.gaps.Add(int64(len(res.NewGaps)))
	c.m.batch.Observe(float64(len(b.Messages) + len(b.Statuses) + len(b.Refusals)))
	c.m.duplicates.Add(float64(res.Duplicates))
	c.m.outOfOrder.Add(float64(res.OutOfOrder))
	c.m.gapsOpened.Add(float64(len(res.NewGaps)))
	if res.Conflicts > 0 {
		c.m.refused.WithLabelValues(CodeSeqConflict).Add(float64(res.Conflicts))
		c.log.Warn("collect: sequences received again under new message ids (quarantined: lane outbox reset?)", "messages", res.Conflicts)
	}
	for i, o := range res.Outcome {
		if o == store.OutcomeStored {
			c.m.stored.WithLabelValues(kinds[i]).Inc()
			c.m.lag.Observe(b.ReceivedAt.Sub(b.Messages[i].At).Seconds())
		}
	}
	for _, g := range res.NewGaps {
		c.log.Info("collect: sequence gap opened (may still arrive)", "site", g.Site, "lane", g.Lane, "from", g.From, "to", g.To)
	}
}
