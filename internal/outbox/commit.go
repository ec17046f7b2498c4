package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"go.etcd.io/bbolt"
)

// op is one write handed to the committer. apply runs inside the batch's
// transaction; its error is the op's own result (a refusal, an unknown
// seq) and does not abort the batch. Storage failures go to batch.fail.
type op struct {
	ctx     context.Context // nil: not cancellable
	enqueue Kind            // the kind of an Enqueue op, for Unstored; "" otherwise
	apply   func(*batch) error
	err     error
	done    chan struct{}
}

// submit hands op to the committer and waits for its result. ctx can
// cancel only the hand-over: an op inside a transaction is waited for.
func (o *Outbox) submit(ctx context.Context, p *op) error {
	p.done = make(chan struct{})
	select {
	case o.ops <- p:
	case <-o.quit:
		return fmt.Errorf("outbox: %s: %w", o.path, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("outbox: %s: %w", o.path, ctx.Err())
	}
	<-p.done
	return p.err
}

// commitLoop is the group committer: it takes every op waiting (up to
// MaxBatch) and commits them in one transaction, so one fsync covers the
// whole batch. Batches grow by themselves under load: whatever arrives
// during one commit forms the next batch.
func (o *Outbox) commitLoop() {
	defer close(o.stopped)
	for {
		var first *op
		select {
		case first = <-o.ops:
		case <-o.quit:
			return
		}
		ops := []*op{first}
		// Producers woken by the previous commit are runnable but may not
		// have sent again yet; let them, so they join this batch instead
		// of forming the next one (measured: batches twice as large).
		runtime.Gosched()
		var timeout <-chan time.Time
		var timer *time.Timer
		if o.opts.MaxBatchDelay > 0 {
			timer = time.NewTimer(o.opts.MaxBatchDelay)
			timeout = timer.C
		}
	gather:
		for len(ops) < o.opts.MaxBatch {
			if timeout == nil {
				select {
				case p := <-o.ops:
					ops = append(ops, p)
				default:
					break gather
				}
				continue
			}
			select {
			case p := <-o.ops:
				ops = append(ops, p)
			case <-timeout:
				break gather
			}
		}
		if timer != nil {
			timer.Stop()
		}
		o.runBatch(ops)
	}
}

// batch is one write transaction and the state it builds.
type batch struct {
	o     *Outbox
	tx    *bbolt.Tx
	st    state // copy of o.st, installed after a successful commit
	now   time.Time
	err   error // first storage error: the batch is rolled back
	dirty bool  // something to commit
	added int   // records enqueued
	notes []note
}

// note is a log line emitted only if the batch commits.
type note struct {
	level slog.Level
	msg   string
	args  []any
}

func (b *batch) logf(level slog.Level, msg string, args ...any) {
	b.notes = append(b.notes, note{level, msg, args})
}

// fail records a storage error; the whole batch will be rolled back.
func (b *batch) fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

func (o *Outbox) runBatch(ops []*op) {
	o.mu.Lock()
	b := &batch{o: o, st: o.st, now: o.clock.Now()}
	o.mu.Unlock()
	var err error
	b.tx, err = o.db.Begin(true)
	if err == nil {
		b.expire()
		for _, p := range ops {
			if p.ctx != nil && p.ctx.Err() != nil {
				p.err = fmt.Errorf("outbox: %s: %w", o.path, p.ctx.Err())
				p.enqueue = ""
				continue
			}
			p.err = p.apply(b)
			if b.err != nil {
				break
			}
		}
		if b.err == nil && b.dirty {
			b.fail(b.tx.Bucket(bucketMeta).Put(keySeq, key(b.st.lastSeq)))
			b.fail(b.tx.Bucket(bucketMeta).Put(keyCounters, b.st.encodeCounters()))
			for _, k := range allKinds {
				b.st.class[slot(k)].oldest = oldestIn(b.tx.Bucket(bucketOf(k)))
			}
		}
		if b.err == nil && b.dirty {
			err = b.tx.Commit()
		} else {
			rerr := b.tx.Rollback()
			err = b.err
			if err == nil && rerr != nil {
				o.log.Warn("outbox rollback of an empty batch failed", "err", rerr)
			}
		}
	}
	if err != nil {
		o.failBatch(ops, err)
		return
	}
	o.mu.Lock()
	o.st = b.st
	if b.dirty {
		o.mem.batches++
	}
	o.mem.records += uint64(b.added)
	o.mu.Unlock()
	for _, n := range b.notes {
		o.log.Log(context.Background(), n.level, n.msg, n.args...)
	}
	if b.added > 0 {
		select {
		case o.notify <- struct{}{}:
		default:
		}
	}
	for _, p := range ops {
		close(p.done)
	}
}

// failBatch answers every op of a batch whose transaction failed. Nothing of
// the batch is stored; the in-memory state stays as before.
func (o *Outbox) failBatch(ops []*op, err error) {
	err = fmt.Errorf("outbox: commit a batch of %d operations to %s: %w: %w", len(ops), o.path, ErrStorage, err)
	o.mu.Lock()
	o.mem.storeErrors++
	var lost [nslots]int
	for _, p := range ops {
		if p.enqueue != "" {
			o.mem.unstored[slot(p.enqueue)]++
			lost[slot(p.enqueue)]++
		}
	}
	o.mu.Unlock()
	o.log.Error("outbox could not store a batch", "err", err, "summaries", lost[slot(KindSummary)],
		"events", lost[slot(KindEvent)], "health", lost[slot(KindHealth)])
	for _, p := range ops {
		if p.err == nil || p.enqueue != "" {
			p.err = err
		}
		close(p.done)
	}
}

func (b *batch) bucket(k Kind) *bbolt.Bucket { return b.tx.Bucket(bucketOf(k)) }

// enqueue assigns m its seq and stores it, making room first if needed.
func (b *batch) enqueue(m *Message) error {
	m.Seq = 0
	size := int64(encodedSize(m)) + 8
	if err := b.makeRoom(m.Kind, size); err != nil {
		return err
	}
	rec, err := encodeRecord(m)
	if err != nil {
		return err
	}
	b.st.lastSeq++
	m.Seq = b.st.lastSeq
	b.fail(b.bucket(m.Kind).Put(key(m.Seq), rec))
	c := &b.st.class[slot(m.Kind)]
	c.count++
	c.bytes += size
	c.enqueued++
	b.dirty = true
	b.added++
	return nil
}

// makeRoom drops messages until size more bytes fit MaxBytes: the oldest of
// the lowest class first, never a class above kind, summaries only under
// DropOldest. If that is not enough, kind is refused (counted) and nothing
// is dropped.
func (b *batch) makeRoom(kind Kind, size int64) error {
	limit := b.o.limits.MaxBytes
	if b.st.total()+size <= limit {
		return nil
	}
	var free int64
	var plan []Kind
	for _, v := range dropOrder {
		if slot(v) < slot(kind) || (v == KindSummary && b.o.limits.AtBound != DropOldest) {
			break
		}
		free += b.st.class[slot(v)].bytes
		plan = append(plan, v)
	}
	if b.st.total()-free+size > limit {
		b.st.class[slot(kind)].refused++
		b.dirty = true
		level := slog.LevelWarn
		if kind == KindSummary {
			level = slog.LevelError
		}
		b.logf(level, "outbox full: refused a new message", "kind", kind, "bytes", size,
			"stored", b.st.total(), "max_bytes", limit, "policy", b.o.limits.AtBound)
		return fmt.Errorf("outbox: enqueue %s: %w (%d bytes stored, max %d)", kind, ErrFull, b.st.total(), limit)
	}
	for _, v := range plan {
		n, freed := 0, int64(0)
		c := b.bucket(v).Cursor()
		for k, val := c.First(); k != nil && b.st.total()+size > limit; k, val = c.First() {
			sz := int64(len(val)) + 8
			if err := c.Delete(); err != nil {
				b.fail(err)
				return nil
			}
			cs := &b.st.class[slot(v)]
			cs.count--
			cs.bytes -= sz
			cs.dropped++
			n++
			freed += sz
		}
		if n > 0 {
			b.dirty = true
			level := slog.LevelWarn
			if v == KindSummary {
				level = slog.LevelError
			}
			b.logf(level, "outbox over its byte bound: dropped the oldest unacknowledged messages",
				"kind", v, "dropped", n, "bytes", freed, "for", kind, "max_bytes", limit)
		}
		if b.st.total()+size <= limit {
			break
		}
	}
	return nil
}

// expire drops the messages older than their class's age bound.
func (b *batch) expire() {
	for _, k := range allKinds {
		age := b.o.limits.maxAge(k)
		if age <= 0 {
			continue
		}
		cutoff := b.now.Add(-age)
		c := b.bucket(k).Cursor()
		n := 0
		for key, v := c.First(); key != nil; key, v = c.First() {
			if len(v) >= 14 && !createdAt(v).Before(cutoff) {
				break
			}
			if err := c.Delete(); err != nil {
				b.fail(err)
				return
			}
			cs := &b.st.class[slot(k)]
			cs.count--
			cs.bytes -= int64(len(v)) + 8
			cs.expired++
			n++
		}
		if n > 0 {
			b.dirty = true
			level := slog.LevelInfo
			if k == KindSummary {
				level = slog.LevelError
			}
			b.logf(level, "outbox dropped expired unacknowledged messages", "kind", k, "expired", n, "max_age", age)
		}
	}
}

// find returns the kind bucket holding seq and its record.
func (b *batch) find(seq uint64) (Kind, []byte) {
	for _, k := range allKinds {
		if v := b.bucket(k).Get(key(seq)); v != nil {
			return k, v
		}
	}
	return "", nil
}

func (b *batch) remove(k Kind, seq uint64, size int64) {
	b.fail(b.bucket(k).Delete(key(seq)))
	c := &b.st.class[slot(k)]
	c.count--
	c.bytes -= size
	b.dirty = true
}

func (b *batch) ack(seqs []uint64) {
	for _, s := range seqs {
		if k, v := b.find(s); v != nil {
			b.remove(k, s, int64(len(v))+8)
		}
	}
}

// reject counts a refusal of seq and quarantines it after MaxAttempts (or
// at once when now is set).
func (b *batch) reject(seq uint64, reason string, now bool) error {
	k, v := b.find(seq)
	if v == nil {
		return fmt.Errorf("outbox: reject %d: %w", seq, ErrUnknownSeq)
	}
	size := int64(len(v)) + 8
	m, err := decodeRecord(seq, v)
	if err != nil {
		b.quarantineCorrupt(corrupt{k, seq, append([]byte(nil), v...), err})
		return nil
	}
	m.Attempts++
	m.Reason = reason
	if !now && int(m.Attempts) < b.o.opts.MaxAttempts {
		rec, err := encodeRecord(&m)
		if err != nil {
			return err
		}
		b.fail(b.bucket(k).Put(key(seq), rec))
		b.st.class[slot(k)].bytes += int64(len(rec)) + 8 - size
		b.dirty = true
		return nil
	}
	b.remove(k, seq, size)
	b.toQuarantine(&m)
	return nil
}

func (b *batch) quarantineCorrupt(c corrupt) {
	if c.seq == 0 { // a key that is not a seq: just delete it
		b.fail(b.bucket(c.kind).Delete(c.raw))
		b.dirty = true
		b.logf(slog.LevelError, "outbox deleted a malformed key", "kind", c.kind, "key", fmt.Sprintf("%x", c.raw), "err", c.err)
		return
	}
	v := b.bucket(c.kind).Get(key(c.seq))
	if v == nil {
		return // already moved by an earlier op
	}
	b.remove(c.kind, c.seq, int64(len(v))+8)
	b.toQuarantine(&Message{Seq: c.seq, Kind: c.kind, Created: b.now, Reason: c.err.Error(), Payload: c.raw})
}

func (b *batch) toQuarantine(m *Message) {
	rec, err := encodeRecord(m)
	if err != nil {
		rec, _ = encodeRecord(&Message{Seq: m.Seq, Kind: m.Kind, Created: m.Created, Reason: m.Reason, Payload: m.Payload})
	}
	q := b.tx.Bucket(bucketQuarantine)
	b.fail(q.Put(key(m.Seq), rec))
	b.st.class[slot(m.Kind)].quarantined++
	b.st.quarantnd++
	b.dirty = true
	b.logf(slog.LevelError, "outbox quarantined a message", "seq", m.Seq, "id", m.ID, "kind", m.Kind,
		"attempts", m.Attempts, "reason", m.Reason)
	c := q.Cursor()
	for k, _ := c.First(); k != nil && b.st.quarantnd > b.o.limits.MaxQuarantine; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			b.fail(err)
			return
		}
		b.st.quarantnd--
		b.st.qDropped++
		b.logf(slog.LevelWarn, "outbox quarantine full: deleted its oldest message", "max", b.o.limits.MaxQuarantine)
	}
}
