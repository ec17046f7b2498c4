package summary

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
)

// SchemaVersion is the version of the status, health and event payloads,
// and the first version of the transaction payload (see
// TransactionSchemaVersion and VersionOf).
const SchemaVersion = 1

// MaxSize bounds an encoded payload (bytes). Decode refuses larger input.
const MaxSize = 32 << 10

// Kind names a payload kind; it is the "kind" field of every payload.
type Kind string

const (
	KindTransaction Kind = "transaction"
	KindStatus      Kind = "status"
	KindHealth      Kind = "health"
	KindEvent       Kind = "event"
)

// Kinds lists every payload kind.
func Kinds() []Kind { return []Kind{KindTransaction, KindStatus, KindHealth, KindEvent} }

// Decision is the outcome for one occupant.
type Decision string

const (
	Match         Decision = "match"
	NoMatch       Decision = "no_match"
	NoUsableImage Decision = "no_usable_image"
	// Candidate (transaction schema 2) is a score between the unknown and
	// the match thresholds: not an identity, a lead for a human.
	Candidate Decision = "candidate"
)

// Reason says why no usable image was found for an occupant.
type Reason string

const (
	ReasonNoFace      Reason = "no_face"
	ReasonTooSmall    Reason = "too_small"
	ReasonBlurred     Reason = "blurred"
	ReasonOccluded    Reason = "occluded"
	ReasonBadPose     Reason = "bad_pose"
	ReasonTooDark     Reason = "too_dark"
	ReasonOverexposed Reason = "overexposed"
	ReasonCameraFault Reason = "camera_fault"
	ReasonTimeout     Reason = "timeout"
)

var reasons = map[Reason]bool{ReasonNoFace: true, ReasonTooSmall: true, ReasonBlurred: true, ReasonOccluded: true,
	ReasonBadPose: true, ReasonTooDark: true, ReasonOverexposed: true, ReasonCameraFault: true, ReasonTimeout: true}

// Header is what every outbox-carried payload starts with. MessageID and
// Sequence are zero until the uplink stamps them (see Stamp).
type Header struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          Kind   `json:"kind"`
	MessageID     string `json:"message_id,omitempty"`
	Sequence      uint64 `json:"sequence,omitempty"`
}

// Transaction is the summary of one vehicle passing the lane.
type Transaction struct {
	Header
	TransactionID  string     `json:"transaction_id"`
	Site           string     `json:"site"`
	Lane           string     `json:"lane"`
	DetectedAt     time.Time  `json:"detected_at"`
	CompletedAt    time.Time  `json:"completed_at"`
	GalleryVersion string     `json:"gallery_version"`
	ModelID        string     `json:"model_id"`
	Occupants      []Occupant `json:"occupants"`
	Latency        Latency    `json:"latency_ms"`
	// Schema 2 (transaction.go).
	Trigger string  `json:"trigger,omitempty"`
	End     End     `json:"end,omitempty"`
	Faults  []Fault `json:"faults,omitempty"`
}

// Occupant is the decision for one face position in the vehicle.
type Occupant struct {
	Index     int      `json:"index"`
	Camera    string   `json:"camera,omitempty"`
	Decision  Decision `json:"decision"`
	Reason    Reason   `json:"reason,omitempty"`     // no_usable_image only
	SubjectID string   `json:"subject_id,omitempty"` // match only
	Score     *float64 `json:"score,omitempty"`      // match; best score for no_match
	Quality   *float64 `json:"quality,omitempty"`    // 0..1, of the image used
	// Schema 2 (transaction.go).
	Candidates []Scored  `json:"candidates,omitempty"`
	Attempts   *Attempts `json:"attempts,omitempty"`
}

// Latency is per-stage processing time in milliseconds.
type Latency struct {
	Capture float64 `json:"capture,omitempty"`
	Detect  float64 `json:"detect,omitempty"`
	Embed   float64 `json:"embed,omitempty"`
	Match   float64 `json:"match,omitempty"`
	Total   float64 `json:"total"`
}

// Status is the retained online/offline state of a lane.
type Status struct {
	SchemaVersion int        `json:"schema_version"`
	Kind          Kind       `json:"kind"`
	Site          string     `json:"site"`
	Lane          string     `json:"lane"`
	State         string     `json:"state"` // "online" or "offline"
	Version       string     `json:"version"`
	Since         *time.Time `json:"since,omitempty"`
	Reason        string     `json:"reason,omitempty"`
}

// Health is the periodic health report of a lane.
type Health struct {
	Header
	Site         string         `json:"site"`
	Lane         string         `json:"lane"`
	At           time.Time      `json:"at"`
	Version      string         `json:"version"`
	UptimeS      float64        `json:"uptime_s"`
	Cameras      []CameraHealth `json:"cameras,omitempty"`
	Sensors      []SensorHealth `json:"sensors,omitempty"`
	Outbox       OutboxHealth   `json:"outbox"`
	Gallery      *GalleryHealth `json:"gallery,omitempty"`
	TemperatureC *float64       `json:"temperature_c,omitempty"`
	Disk         *DiskHealth    `json:"disk,omitempty"`
}

type CameraHealth struct {
	ID    string  `json:"id"`
	FPS   float64 `json:"fps"`
	Drops uint64  `json:"drops"`
	Error string  `json:"error,omitempty"`
}

type SensorHealth struct {
	ID    string `json:"id"`
	State string `json:"state"` // clear, occupied, fault
}

type OutboxHealth struct {
	Depth       int     `json:"depth"`
	Bytes       int64   `json:"bytes"`
	OldestAgeS  float64 `json:"oldest_age_s"`
	Quarantined int     `json:"quarantined,omitempty"`
	Dropped     uint64  `json:"dropped,omitempty"`
	Unstored    uint64  `json:"unstored,omitempty"`
}

type GalleryHealth struct {
	Version string  `json:"version"`
	AgeS    float64 `json:"age_s"`
}

type DiskHealth struct {
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
}

// Event is a fault or audit event.
type Event struct {
	Header
	Site     string            `json:"site"`
	Lane     string            `json:"lane"`
	At       time.Time         `json:"at"`
	Category string            `json:"category"` // fault, audit
	Severity string            `json:"severity"` // info, warning, error, critical
	Code     string            `json:"code"`
	Message  string            `json:"message"`
	Actor    string            `json:"actor,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
}

var (
	reName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	reID      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	reMsgID   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reVersion = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)
	reCode    = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	reDetail  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// errs collects field errors; Err joins them.
type errs []error

func (e *errs) add(field, format string, a ...any) {
	*e = append(*e, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
}

func (e errs) err(kind Kind) error {
	if len(e) == 0 {
		return nil
	}
	return fmt.Errorf("summary: invalid %s: %w", kind, errors.Join(e...))
}

func (e *errs) match(field, v string, re *regexp.Regexp) {
	if !re.MatchString(v) {
		e.add(field, "%q does not match %s", clip(v), re)
	}
}

func (e *errs) text(field, v string, max int) {
	if n := len([]rune(v)); n > max {
		e.add(field, "%d characters, max %d", n, max)
	}
}

func (e *errs) time(field string, t time.Time) {
	if t.IsZero() || t.Year() < 2000 || t.Year() > 9999 {
		e.add(field, "missing or out of range (%s)", t.Format(time.RFC3339))
	}
}

func (e *errs) num(field string, v, lo, hi float64) {
	if math.IsNaN(v) || v < lo || v > hi {
		e.add(field, "%v out of range [%v, %v]", v, lo, hi)
	}
}

func (e *errs) header(h Header, want Kind, stamped bool) {
	if !knownVersion(want, h.SchemaVersion) {
		e.add("schema_version", "%d, want %s", h.SchemaVersion, versionsOf(want))
	}
	if h.Kind != want {
		e.add("kind", "%q, want %q", h.Kind, want)
	}
	if stamped || h.MessageID != "" || h.Sequence != 0 {
		e.match("message_id", h.MessageID, reMsgID)
		if h.Sequence == 0 {
			e.add("sequence", "missing (0)")
		}
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Validate checks t as the lane builds it (stamped=false: message_id and
// sequence may be absent) or as it is published (stamped=true).
func (t *Transaction) Validate(stamped bool) error {
	var e errs
	e.header(t.Header, KindTransaction, stamped)
	e.match("transaction_id", t.TransactionID, reID)
	e.match("site", t.Site, reName)
	e.match("lane", t.Lane, reName)
	e.time("detected_at", t.DetectedAt)
	e.time("completed_at", t.CompletedAt)
	e.match("gallery_version", t.GalleryVersion, reVersion)
	e.match("model_id", t.ModelID, reVersion)
	if t.Occupants == nil {
		e.add("occupants", "missing (use an empty list for a vehicle with no face found)")
	}
	if len(t.Occupants) > 16 {
		e.add("occupants", "%d, max 16", len(t.Occupants))
	}
	for i, o := range t.Occupants {
		f := fmt.Sprintf("occupants[%d].", i)
		if o.Index < 0 || o.Index > 15 {
			e.add(f+"index", "%d out of range [0, 15]", o.Index)
		}
		if o.Camera != "" {
			e.match(f+"camera", o.Camera, reName)
		}
		if o.Score != nil {
			e.num(f+"score", *o.Score, -1, 1)
		}
		if o.Quality != nil {
			e.num(f+"quality", *o.Quality, 0, 1)
		}
		if o.Reason != "" && !reasons[o.Reason] {
			e.add(f+"reason", "unknown %q", clip(string(o.Reason)))
		}
		switch o.Decision {
		case Match:
			if o.SubjectID == "" || o.Score == nil || o.Quality == nil {
				e.add(f+"decision", "match needs subject_id, score and quality")
			}
			if o.Reason != "" {
				e.add(f+"reason", "not allowed with match")
			}
		case NoMatch:
			if o.Quality == nil {
				e.add(f+"decision", "no_match needs quality")
			}
			if o.Reason != "" || o.SubjectID != "" {
				e.add(f+"decision", "no_match allows no reason or subject_id")
			}
		case NoUsableImage:
			if o.Reason == "" {
				e.add(f+"reason", "no_usable_image needs a reason")
			}
			if o.SubjectID != "" || o.Score != nil {
				e.add(f+"decision", "no_usable_image allows no subject_id or score")
			}
		case Candidate:
			validateCandidate(&e, f, o)
		default:
			e.add(f+"decision", "unknown %q", clip(string(o.Decision)))
		}
		if o.SubjectID != "" {
			e.match(f+"subject_id", o.SubjectID, reID)
		}
		validateOccupantV2(&e, f, t.SchemaVersion, o)
	}
	validateTransactionV2(&e, t)
	l := t.Latency
	for _, v := range []struct {
		n string
		v float64
	}{{"capture", l.Capture}, {"detect", l.Detect}, {"embed", l.Embed}, {"match", l.Match}, {"total", l.Total}} {
		e.num("latency_ms."+v.n, v.v, 0, 3600000)
	}
	return e.err(KindTransaction)
}

// Validate checks s.
func (s *Status) Validate() error {
	var e errs
	e.header(Header{SchemaVersion: s.SchemaVersion, Kind: s.Kind}, KindStatus, false)
	e.match("site", s.Site, reName)
	e.match("lane", s.Lane, reName)
	if s.State != "online" && s.State != "offline" {
		e.add("state", "%q, want online or offline", clip(s.State))
	}
	e.match("version", s.Version, reVersion)
	if s.Since != nil {
		e.time("since", *s.Since)
	}
	e.text("reason", s.Reason, 256)
	return e.err(KindStatus)
}

// Validate checks h (see Transaction.Validate for stamped).
func (h *Health) Validate(stamped bool) error {
	var e errs
	e.header(h.Header, KindHealth, stamped)
	e.match("site", h.Site, reName)
	e.match("lane", h.Lane, reName)
	e.time("at", h.At)
	e.match("version", h.Version, reVersion)
	e.num("uptime_s", h.UptimeS, 0, math.MaxFloat64)
	if len(h.Cameras) > 16 {
		e.add("cameras", "%d, max 16", len(h.Cameras))
	}
	for i, c := range h.Cameras {
		e.match(fmt.Sprintf("cameras[%d].id", i), c.ID, reName)
		e.num(fmt.Sprintf("cameras[%d].fps", i), c.FPS, 0, 1000)
		e.text(fmt.Sprintf("cameras[%d].error", i), c.Error, 256)
	}
	if len(h.Sensors) > 32 {
		e.add("sensors", "%d, max 32", len(h.Sensors))
	}
	for i, s := range h.Sensors {
		e.match(fmt.Sprintf("sensors[%d].id", i), s.ID, reName)
		if s.State != "clear" && s.State != "occupied" && s.State != "fault" {
			e.add(fmt.Sprintf("sensors[%d].state", i), "%q, want clear, occupied or fault", clip(s.State))
		}
	}
	if h.Outbox.Depth < 0 || h.Outbox.Bytes < 0 || h.Outbox.Quarantined < 0 {
		e.add("outbox", "negative count")
	}
	e.num("outbox.oldest_age_s", h.Outbox.OldestAgeS, 0, math.MaxFloat64)
	if h.Gallery != nil {
		e.match("gallery.version", h.Gallery.Version, reVersion)
		e.num("gallery.age_s", h.Gallery.AgeS, 0, math.MaxFloat64)
	}
	if h.TemperatureC != nil {
		e.num("temperature_c", *h.TemperatureC, -100, 200)
	}
	return e.err(KindHealth)
}

// Validate checks ev (see Transaction.Validate for stamped).
func (ev *Event) Validate(stamped bool) error {
	var e errs
	e.header(ev.Header, KindEvent, stamped)
	e.match("site", ev.Site, reName)
	e.match("lane", ev.Lane, reName)
	e.time("at", ev.At)
	if ev.Category != "fault" && ev.Category != "audit" {
		e.add("category", "%q, want fault or audit", clip(ev.Category))
	}
	switch ev.Severity {
	case "info", "warning", "error", "critical":
	default:
		e.add("severity", "%q, want info, warning, error or critical", clip(ev.Severity))
	}
	e.match("code", ev.Code, reCode)
	e.text("message", ev.Message, 256)
	e.text("actor", ev.Actor, 64)
	if len(ev.Details) > 16 {
		e.add("details", "%d entries, max 16", len(ev.Details))
	}
	for k, v := range ev.Details {
		e.match("details key", k, reDetail)
		e.text("details."+clip(k), v, 256)
	}
	return e.err(KindEvent)
}
