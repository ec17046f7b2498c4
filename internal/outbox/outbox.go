package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/laned/laned/internal/clock"
)

var (
	// ErrClosed is returned by calls on a closed outbox.
	ErrClosed = errors.New("outbox closed")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("locked by another process")
	// ErrFull is returned by Enqueue when the message does not fit the byte
	// bound and nothing of lower priority is left to drop.
	ErrFull = errors.New("outbox full")
	// ErrTooLarge is returned by Enqueue for a payload over MaxPayload.
	ErrTooLarge = errors.New("payload too large")
	// ErrStorage marks a failed transaction (disk full, I/O error). The
	// underlying error is wrapped too.
	ErrStorage = errors.New("storage error")
	// ErrUnknownSeq is returned by Reject and Quarantine for a seq that is
	// not waiting (already acknowledged, dropped or never handed out).
	ErrUnknownSeq = errors.New("unknown seq")
)

const formatVersion = 1

// seqGap is how far the seq jumps when its counter cannot be read.
const seqGap = 1 << 32

var (
	bucketMeta       = []byte("meta")
	bucketQuarantine = []byte("quarantine")
	keyFormat        = []byte("format")
	keySeq           = []byte("seq")
	keyCounters      = []byte("counters")
)

// bucketOf names the bucket that holds the waiting messages of kind k.
// The names are those of the first file format ("summary" for
// transactions), kept so existing files open.
func bucketOf(k Kind) []byte { return []byte("q/" + bucketNames[slot(k)]) }

var bucketNames = [nslots]string{"", "summary", "event", "health"}

// Outbox is a durable, bounded queue of messages waiting for a PUBACK.
// Its methods are safe for concurrent use.
type Outbox struct {
	path   string
	db     *bbolt.DB
	opts   Options
	limits Limits
	clock  clock.Clock
	log    *slog.Logger

	ops     chan *op      // unbuffered: a send succeeds only into the committer
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer returned
	notify  chan struct{}

	closeOnce sync.Once
	closeErr  error

	mu  sync.Mutex // guards st and mem
	st  state
	mem memCounters
}

// Open opens or creates the outbox file at path and starts its committer.
// It fails after opts.LockTimeout with an error wrapping ErrLocked when
// another process holds the file.
func Open(path string, opts Options) (*Outbox, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      opts.LockTimeout,
		FreelistType: bbolt.FreelistMapType,
		MaxSize:      opts.maxFileSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("outbox: open %s: %w (waited %s)", path, ErrLocked, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	o := &Outbox{
		path:    path,
		db:      db,
		opts:    opts,
		limits:  opts.Limits,
		clock:   opts.Clock,
		log:     opts.Logger.With("component", "outbox", "path", path),
		ops:     make(chan *op),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
		notify:  make(chan struct{}, 1),
	}
	if err := db.Update(o.load); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	go o.commitLoop()
	o.log.Info("outbox open", "last_seq", o.st.lastSeq, "waiting", o.st.class[slot(KindSummary)].count+
		o.st.class[slot(KindEvent)].count+o.st.class[slot(KindHealth)].count, "quarantined", o.st.quarantnd)
	return o, nil
}

// load creates the buckets and rebuilds the in-memory state from the file.
func (o *Outbox) load(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	fresh := meta.Get(keyFormat) == nil
	if v := meta.Get(keyFormat); v == nil {
		if err := meta.Put(keyFormat, []byte{formatVersion}); err != nil {
			return err
		}
	} else if len(v) != 1 || v[0] != formatVersion {
		return fmt.Errorf("unsupported outbox format %x (this laned reads %d)", v, formatVersion)
	}
	seqLost := false
	if v := meta.Get(keySeq); len(v) == 8 {
		o.st.lastSeq = binary.BigEndian.Uint64(v)
	} else if !fresh {
		seqLost = true
	}
	if v := meta.Get(keyCounters); v != nil && !o.st.decodeCounters(v) {
		o.log.Warn("outbox counters unreadable, restarting them from zero", "bytes", len(v))
	}
	maxKey := func(b *bbolt.Bucket) {
		if k, _ := b.Cursor().Last(); k != nil {
			if s, ok := seqOf(k); ok && s > o.st.lastSeq {
				if !seqLost {
					o.log.Error("outbox seq counter behind stored keys, advancing it", "counter", o.st.lastSeq, "key", s)
				}
				o.st.lastSeq = s
			}
		}
	}
	for _, k := range allKinds {
		b, err := tx.CreateBucketIfNotExists(bucketOf(k))
		if err != nil {
			return err
		}
		c := &o.st.class[slot(k)]
		err = b.ForEach(func(_, v []byte) error {
			c.count++
			c.bytes += int64(len(v)) + 8
			return nil
		})
		if err != nil {
			return err
		}
		c.oldest = oldestIn(b)
		maxKey(b)
	}
	q, err := tx.CreateBucketIfNotExists(bucketQuarantine)
	if err != nil {
		return err
	}
	o.st.quarantnd = q.Stats().KeyN
	maxKey(q)
	if seqLost {
		// The counter is unreadable: continue far above every stored key,
		// so a seq handed out before (and acked since) is not reused.
		o.log.Error("outbox seq counter unreadable, continuing past a gap",
			"max_stored_seq", o.st.lastSeq, "gap", uint64(seqGap))
		o.st.lastSeq += seqGap
	}
	return meta.Put(keySeq, key(o.st.lastSeq))
}

// oldestIn is the creation time of b's first record, read leniently (a
// corrupt record is quarantined when it is read, not here).
func oldestIn(b *bbolt.Bucket) time.Time {
	_, v := b.Cursor().First()
	if len(v) < 14 {
		return time.Time{}
	}
	return createdAt(v)
}

// createdAt reads the creation time of a record of at least 14 bytes
// without checking it.
func createdAt(v []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[6:14])))
}

// Close stops the committer and closes the file. Operations already handed
// to the committer finish first. Close is idempotent.
func (o *Outbox) Close() error {
	o.closeOnce.Do(func() {
		close(o.quit)
		<-o.stopped
		if err := o.db.Close(); err != nil {
			o.closeErr = fmt.Errorf("outbox: close %s: %w", o.path, err)
		}
		o.log.Info("outbox closed")
	})
	return o.closeErr
}

// Notify returns a channel that receives a value after a batch committed
// new messages, so a publisher does not poll. It has one slot: a value
// means "there may be more than before", not "one more".
func (o *Outbox) Notify() <-chan struct{} { return o.notify }

// Run drops expired messages every PruneInterval until ctx is done or the
// outbox is closed; then it returns nil. Enqueue and Ack do not need Run.
func (o *Outbox) Run(ctx context.Context) error {
	t := o.clock.NewTicker(o.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-o.quit:
			return nil
		case <-t.C():
			if err := o.Prune(ctx); err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
				o.log.Warn("outbox prune failed", "err", err)
			}
		}
	}
}

// Prune drops the messages older than their class's age bound now.
// (Every commit does this too.)
func (o *Outbox) Prune(ctx context.Context) error {
	return o.submit(ctx, &op{apply: func(*batch) error { return nil }})
}

// Enqueue stores a message and returns it once it is durable (fsynced), or
// an error: ErrTooLarge, ErrFull (refused at the bound), ErrStorage (the
// lane keeps working; the failure is counted in Stats). ctx only cancels
// the wait for the committer: once the message is in a transaction, Enqueue
// waits for the commit. payload must not change until Enqueue returns.
func (o *Outbox) Enqueue(ctx context.Context, kind Kind, payload []byte) (Message, error) {
	if slot(kind) == 0 {
		return Message{}, fmt.Errorf("outbox: enqueue: invalid kind %q (the outbox queues %v)", kind, Kinds())
	}
	if len(payload) > o.limits.MaxPayload {
		o.mu.Lock()
		o.mem.oversize[slot(kind)]++
		o.mu.Unlock()
		o.log.Error("outbox refused oversize payload", "kind", kind, "bytes", len(payload), "max", o.limits.MaxPayload)
		return Message{}, fmt.Errorf("outbox: enqueue %s: %w (%d bytes, max %d)", kind, ErrTooLarge, len(payload), o.limits.MaxPayload)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Message{}, fmt.Errorf("outbox: enqueue %s: new id: %w", kind, err)
	}
	m := Message{ID: id.String(), Kind: kind, Created: o.clock.Now().UTC(), Payload: payload}
	err = o.submit(ctx, &op{ctx: ctx, enqueue: kind, apply: func(b *batch) error { return b.enqueue(&m) }})
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

// Ack deletes acknowledged messages. Unknown seqs (already acknowledged,
// dropped, quarantined) are ignored, so a repeated PUBACK is harmless.
// Concurrent Acks share transactions with Enqueues.
func (o *Outbox) Ack(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return o.submit(context.Background(), &op{apply: func(b *batch) error { b.ack(seqs); return nil }})
}

// Reject records that the broker refused seq. After MaxAttempts refusals
// the message moves to the quarantine and is not returned by Pending again.
func (o *Outbox) Reject(seq uint64, reason string) error {
	return o.submit(context.Background(), &op{apply: func(b *batch) error { return b.reject(seq, reason, false) }})
}

// Quarantine moves seq to the quarantine now.
func (o *Outbox) Quarantine(seq uint64, reason string) error {
	return o.submit(context.Background(), &op{apply: func(b *batch) error { return b.reject(seq, reason, true) }})
}

// Pending returns up to max of the oldest waiting messages in seq order.
func (o *Outbox) Pending(max int) ([]Message, error) { return o.PendingAfter(0, max) }

// PendingAfter returns up to max waiting messages with seq > after, in seq
// order, so a publisher can keep a window in flight and ask for more from
// its cursor. Quarantined messages are excluded; a corrupt record found on
// the way is moved to the quarantine (logged, counted) and skipped.
func (o *Outbox) PendingAfter(after uint64, max int) ([]Message, error) {
	if max <= 0 {
		return nil, nil
	}
	for range 3 {
		msgs, bad, err := o.readPending(after, max)
		if err != nil || len(bad) == 0 {
			return msgs, err
		}
		if err := o.submit(context.Background(), &op{apply: func(b *batch) error {
			for _, c := range bad {
				b.quarantineCorrupt(c)
			}
			return nil
		}}); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("outbox: pending after %d: corrupt records keep appearing", after)
}

type corrupt struct {
	kind Kind
	seq  uint64
	raw  []byte
	err  error
}

func (o *Outbox) readPending(after uint64, max int) (msgs []Message, bad []corrupt, err error) {
	err = o.view(func(tx *bbolt.Tx) error {
		var curs [nslots]*bbolt.Cursor
		var keys [nslots][]byte
		var vals [nslots][]byte
		for _, k := range allKinds {
			curs[slot(k)] = tx.Bucket(bucketOf(k)).Cursor()
			keys[slot(k)], vals[slot(k)] = curs[slot(k)].Seek(key(after + 1))
		}
		for len(msgs) < max {
			next := Kind("")
			for _, k := range allKinds {
				if keys[slot(k)] != nil && (next == "" || bytes.Compare(keys[slot(k)], keys[slot(next)]) < 0) {
					next = k
				}
			}
			if next == "" {
				return nil
			}
			seq, ok := seqOf(keys[slot(next)])
			m, err := decodeRecord(seq, vals[slot(next)])
			switch {
			case !ok:
				bad = append(bad, corrupt{next, 0, bytes.Clone(keys[slot(next)]), fmt.Errorf("key %x is not a seq", keys[slot(next)])})
			case err != nil:
				bad = append(bad, corrupt{next, seq, bytes.Clone(vals[slot(next)]), err})
			case m.Kind != next:
				bad = append(bad, corrupt{next, seq, bytes.Clone(vals[slot(next)]), fmt.Errorf("record %d: %w: kind %s in the %s bucket", seq, ErrCorrupt, m.Kind, next)})
			default:
				msgs = append(msgs, m)
			}
			keys[slot(next)], vals[slot(next)] = curs[slot(next)].Next()
		}
		return nil
	})
	return msgs, bad, err
}

// Quarantined returns the quarantined messages in seq order; Reason says
// why each one is there.
func (o *Outbox) Quarantined() ([]Message, error) {
	var msgs []Message
	err := o.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketQuarantine).ForEach(func(k, v []byte) error {
			seq, _ := seqOf(k)
			m, err := decodeRecord(seq, v)
			if err != nil {
				m = Message{Seq: seq, Reason: err.Error(), Payload: bytes.Clone(v)}
			}
			msgs = append(msgs, m)
			return nil
		})
	})
	return msgs, err
}

func (o *Outbox) view(fn func(*bbolt.Tx) error) error {
	select {
	case <-o.quit:
		return fmt.Errorf("outbox: %s: %w", o.path, ErrClosed)
	default:
	}
	if err := o.db.View(fn); err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) { // Close won the race
			return fmt.Errorf("outbox: %s: %w", o.path, ErrClosed)
		}
		return fmt.Errorf("outbox: read %s: %w", o.path, err)
	}
	return nil
}

// Check verifies the bbolt file (pages, freelist: what `bbolt check` does)
// and the outbox's own invariants: 8-byte keys, decodable records of the
// bucket's kind, a seq counter ahead of every key. It returns all problems
// found (up to 20), joined, or nil.
func (o *Outbox) Check() error {
	var err error
	if verr := o.view(func(tx *bbolt.Tx) error { err = checkTx(tx); return nil }); verr != nil {
		return verr
	}
	if err != nil {
		return fmt.Errorf("outbox: check %s: %w", o.path, err)
	}
	return nil
}

// CheckFile checks the outbox file at path like Check, read-only: it does
// not create a missing file, and fails with ErrLocked after timeout when a
// running laned holds the file. For `laned check`.
func CheckFile(path string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = time.Second
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("outbox: check %s: %w (waited %s)", path, ErrLocked, timeout)
	}
	if err != nil {
		return fmt.Errorf("outbox: check %s: %w", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketOf(KindSummary), bucketOf(KindEvent), bucketOf(KindHealth), bucketQuarantine} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("not an outbox: no bucket %q", name)
			}
		}
		return checkTx(tx)
	})
	if err != nil {
		return fmt.Errorf("outbox: check %s: %w", path, err)
	}
	return nil
}

func checkTx(tx *bbolt.Tx) error {
	var errs []error
	add := func(err error) {
		if len(errs) < 20 {
			errs = append(errs, err)
		}
	}
	for err := range tx.Check() {
		add(fmt.Errorf("bbolt: %w", err))
	}
	var last uint64
	if v := tx.Bucket(bucketMeta).Get(keySeq); len(v) == 8 {
		last = binary.BigEndian.Uint64(v)
	} else {
		add(fmt.Errorf("meta seq missing or %d bytes", len(v)))
	}
	for _, name := range [][]byte{bucketOf(KindSummary), bucketOf(KindEvent), bucketOf(KindHealth), bucketQuarantine} {
		quarantine := bytes.Equal(name, bucketQuarantine)
		err := tx.Bucket(name).ForEach(func(k, v []byte) error {
			seq, ok := seqOf(k)
			if !ok {
				add(fmt.Errorf("bucket %s: key %x is not a seq", name, k))
				return nil
			}
			if seq > last {
				add(fmt.Errorf("bucket %s: seq %d ahead of the counter %d", name, seq, last))
			}
			m, err := decodeRecord(seq, v)
			switch {
			case err != nil && !quarantine:
				add(fmt.Errorf("bucket %s: %w", name, err))
			case err == nil && !quarantine && !bytes.Equal(bucketOf(m.Kind), name):
				add(fmt.Errorf("bucket %s: record %d has kind %s", name, seq, m.Kind))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}
