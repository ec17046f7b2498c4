package lane

import (
	"context"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/match"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/vision"
)

// Analyzer is the analysis API of the vision worker: detection, quality and
// alignment of one frame, and batch embedding of chosen chips.
type Analyzer interface {
	Analyze(ctx context.Context, f *frame.Frame) (vision.Analysis, error)
	Embed(ctx context.Context, chips []vision.Chip) ([]vision.Embedding, error)
}

// Snapshot is one immutable, loaded gallery. A transaction pins one for all
// its searches.
type Snapshot interface {
	Version() string
	ModelID() string
	LoadedAt() time.Time
	Search(probe []float32, k int) ([]match.Result, error)
	Subjects() int
}

// Gallery hands out the current snapshot (never nil: an empty gallery is a
// snapshot with no subjects).
type Gallery interface {
	Current() Snapshot
}

// Sink takes an encoded summary; *outbox.Outbox satisfies it.
type Sink interface {
	Enqueue(ctx context.Context, kind outbox.Kind, payload []byte) (outbox.Message, error)
}

// Fault is a camera, sensor or lane fault raised (Active) or cleared.
type Fault struct {
	Source   string // camera or input name, or "lane"
	Code     string // camera.lost, loop.stuck_on, outbox.enqueue, …
	Active   bool
	At       time.Time
	Severity string // warning, error
	Message  string
}

// Events receives the lane's faults (the daemon's event emitter writes them
// to the outbox, rate-limited and de-duplicated).
type Events interface {
	Fault(ctx context.Context, f Fault)
}

// Evidence is the crop of one no_match occupant kept for human review.
type Evidence struct {
	TransactionID string
	Occupant      int
	Camera        string
	At            time.Time // capture time of the chip
	Score         float64   // best gallery score
	Chip          vision.Chip
}

// EvidenceSink stores evidence (encrypted, with a TTL: package
// lane/evidence). It must copy what it keeps: the chip is zeroed after Put.
type EvidenceSink interface {
	Put(ctx context.Context, e Evidence) error
}

// SignalKind says what a Signal reports.
type SignalKind uint8

const (
	// Level: the input became Active (vehicle present) or inactive.
	Level SignalKind = iota
	// Faulted: the input or camera reports a fault (Code), e.g. a loop
	// stuck on or chattering, a camera unplugged.
	Faulted
	// Recovered: the fault of Source cleared.
	Recovered
)

// Signal is a presence transition of a loop or the video trigger, or a
// fault of an input or camera, stamped on the capture clock.
type Signal struct {
	Source string // input name (Config.ArrivalInput, …) or camera name
	Kind   SignalKind
	Active bool
	Time   time.Time
	Code   string // Faulted: short code, e.g. stuck_on, lost
}

// Deps are the lane's collaborators.
type Deps struct {
	Site, Lane string
	Analyzer   Analyzer
	Gallery    Gallery
	Sink       Sink
	Events     Events       // optional
	Evidence   EvidenceSink // required when Config.Evidence
	Clock      Clock        // optional, default the wall clock
	Logger     Logger       // optional
}
