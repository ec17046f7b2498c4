package outbox

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/laned/laned/internal/clock"
)

// Policy says what a new summary does when the byte bound is reached and
// only summaries are left to drop.
type Policy uint8

const (
	// RefuseNew (the default) refuses the new summary: Enqueue returns
	// ErrFull, Stats counts it as Refused and it is logged at error level.
	// Nothing committed is ever deleted without a PUBACK, and the central
	// office sees an unbroken sequence up to the refusal.
	RefuseNew Policy = iota
	// DropOldest deletes the oldest unacknowledged summaries to make room
	// (counted as Dropped, logged at error level).
	DropOldest
)

func (p Policy) String() string {
	switch p {
	case RefuseNew:
		return "refuse-new"
	case DropOldest:
		return "drop-oldest"
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// Limits bound the outbox. Zero fields take the defaults named below.
type Limits struct {
	// MaxBytes bounds the stored records of all classes (payload plus a
	// 48-byte overhead each). Over it, the oldest message of the lowest
	// class is dropped first: health, then events; summaries only under
	// the DropOldest policy. Default 256 MiB. The bbolt file can be larger
	// than this (free pages are reused, not returned to the file system).
	MaxBytes int64
	// MaxPayload refuses larger payloads with ErrTooLarge. Default 256 KiB.
	MaxPayload int
	// SummaryMaxAge, EventMaxAge and HealthMaxAge drop messages older than
	// that (counted as Expired). Negative means never. Defaults: summaries
	// never, events 30 days, health 1 hour (only the latest one matters).
	SummaryMaxAge time.Duration
	EventMaxAge   time.Duration
	HealthMaxAge  time.Duration
	// AtBound is what a new summary does when only summaries are left.
	AtBound Policy
	// MaxQuarantine bounds the quarantine; beyond it the oldest quarantined
	// message is deleted (counted in Stats.QuarantineDropped). Default 1000.
	// Quarantined messages do not count against MaxBytes.
	MaxQuarantine int
}

// Options configure Open. Zero fields take the defaults named below.
type Options struct {
	Limits Limits
	Clock  clock.Clock  // default clock.Real
	Logger *slog.Logger // default slog.Default
	// LockTimeout is how long Open waits for another process holding the
	// file. Default 1 s.
	LockTimeout time.Duration
	// MaxBatch is the most operations committed in one transaction (one
	// fsync). Default 1024.
	MaxBatch int
	// MaxBatchDelay is how long the committer waits for more operations
	// after the first one of a batch (wall time; it is a throughput knob,
	// not a timeout). Default 0: a batch is whatever queued up during the
	// previous commit.
	MaxBatchDelay time.Duration
	// MaxAttempts is how many Rejects quarantine a message. Default 5.
	MaxAttempts int
	// PruneInterval is how often Run drops expired messages. Default 1 min.
	PruneInterval time.Duration
	// Validate checks every payload before it is stored (ErrInvalid when
	// it refuses). Default SummarySchemas; AnyPayload only in tests of the
	// queue itself.
	Validate Validator
	// OnInvalid, if set, is told of every refused payload (the daemon
	// emits an event); it is called on the Enqueue caller's goroutine.
	OnInvalid func(Kind, error)

	maxFileSize int // bbolt MaxSize, for tests that need a full "disk"
}

const (
	defaultMaxBytes      = 256 << 20
	defaultMaxPayload    = 256 << 10
	defaultEventMaxAge   = 30 * 24 * time.Hour
	defaultHealthMaxAge  = time.Hour
	defaultMaxQuarantine = 1000
)

func (o Options) withDefaults() (Options, error) {
	l := &o.Limits
	for _, v := range []struct {
		name string
		v    int64
	}{
		{"MaxBytes", l.MaxBytes}, {"MaxPayload", int64(l.MaxPayload)}, {"MaxQuarantine", int64(l.MaxQuarantine)},
		{"MaxBatch", int64(o.MaxBatch)}, {"MaxAttempts", int64(o.MaxAttempts)}, {"LockTimeout", int64(o.LockTimeout)},
		{"MaxBatchDelay", int64(o.MaxBatchDelay)}, {"PruneInterval", int64(o.PruneInterval)},
	} {
		if v.v < 0 {
			return o, fmt.Errorf("outbox: negative limit or option %s (%d)", v.name, v.v)
		}
	}
	if l.AtBound > DropOldest {
		return o, fmt.Errorf("outbox: unknown bound policy %d", l.AtBound)
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = defaultMaxBytes
	}
	if l.MaxPayload == 0 {
		l.MaxPayload = defaultMaxPayload
	}
	if int64(l.MaxPayload)+recOverhead+8 > l.MaxBytes {
		return o, fmt.Errorf("outbox: max payload %d does not fit max bytes %d", l.MaxPayload, l.MaxBytes)
	}
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0 // never
		}
	}
	def(&l.SummaryMaxAge, 0)
	def(&l.EventMaxAge, defaultEventMaxAge)
	def(&l.HealthMaxAge, defaultHealthMaxAge)
	if l.MaxQuarantine == 0 {
		l.MaxQuarantine = defaultMaxQuarantine
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = time.Second
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 1024
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.PruneInterval == 0 {
		o.PruneInterval = time.Minute
	}
	if o.Validate == nil {
		o.Validate = SummarySchemas
	}
	return o, nil
}

// maxAge is the age bound of k after defaults; 0 means never.
func (l *Limits) maxAge(k Kind) time.Duration {
	switch k {
	case KindSummary:
		return l.SummaryMaxAge
	case KindEvent:
		return l.EventMaxAge
	}
	return l.HealthMaxAge
}
