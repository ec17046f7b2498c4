package demo

import (
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/summary"
)

// Received is one summary as the central office got it.
type Received struct {
	T  *summary.Transaction
	At time.Time // arrival at the subscriber
}

// Collector subscribes to a lane's transactions topic and keeps each
// summary once (by message id: the uplink is at-least-once).
type Collector struct {
	c    mqtt.Client
	mu   sync.Mutex
	got  []Received
	seen map[string]bool
	note chan struct{}
}

// Collect subscribes to {prefix}/{site}/{lane}/transactions on broker.
func Collect(broker, topic string) (*Collector, error) {
	col := &Collector{seen: map[string]bool{}, note: make(chan struct{}, 1)}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("laned-demo-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(true).SetOrderMatters(true)
	col.c = mqtt.NewClient(o)
	if t := col.c.Connect(); t.WaitTimeout(10*time.Second) && t.Error() != nil {
		return nil, fmt.Errorf("demo: subscriber: %w", t.Error())
	}
	t := col.c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		v, err := summary.Unmarshal(m.Payload())
		if err != nil {
			return
		}
		tx, ok := v.(*summary.Transaction)
		if !ok {
			return
		}
		col.mu.Lock()
		if !col.seen[tx.MessageID] {
			col.seen[tx.MessageID] = true
			col.got = append(col.got, Received{T: tx, At: time.Now()})
		}
		col.mu.Unlock()
		select {
		case col.note <- struct{}{}:
		default:
		}
	})
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		col.c.Disconnect(100)
		return nil, fmt.Errorf("demo: subscribe %s: %v", topic, t.Error())
	}
	return col, nil
}

// Wait returns once n summaries arrived or the deadline passed.
func (c *Collector) Wait(n int, deadline time.Time) []Received {
	for {
		c.mu.Lock()
		got := append([]Received(nil), c.got...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.note:
		case <-time.After(time.Until(deadline)):
			return got
		}
	}
}

// Close disconnects.
func (c *Collector) Close() { c.c.Disconnect(100) }
