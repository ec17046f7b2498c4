package summary

import "fmt"

// TransactionSchemaVersion is the current version of the transaction
// payload. Version 2 adds the candidate decision, top candidates, attempt
// counts, trigger, end and faults; every version 1 body is a version 2 body
// apart from schema_version. The decoder accepts both (an outbox written by
// an older laned still drains after an upgrade); the lane writes 2.
const TransactionSchemaVersion = 2

// VersionOf is the schema_version the lane writes for payloads of kind k.
func VersionOf(k Kind) int {
	if k == KindTransaction {
		return TransactionSchemaVersion
	}
	return SchemaVersion
}

// knownVersion reports whether v is a schema_version decoders accept for k.
func knownVersion(k Kind, v int) bool {
	if k == KindTransaction {
		return v == 1 || v == TransactionSchemaVersion
	}
	return v == SchemaVersion
}

func versionsOf(k Kind) string {
	if k == KindTransaction {
		return fmt.Sprintf("1 or %d", TransactionSchemaVersion)
	}
	return fmt.Sprint(SchemaVersion)
}

// End says what closed a transaction's capture.
type End string

const (
	EndDeparture   End = "departure"    // the vehicle left (plus the post margin)
	EndNextVehicle End = "next_vehicle" // the next vehicle arrived first
	EndMaxCapture  End = "max_capture"  // the maximum capture time ran out
	EndShutdown    End = "shutdown"     // the daemon stopped mid-pass
)

var ends = map[End]bool{EndDeparture: true, EndNextVehicle: true, EndMaxCapture: true, EndShutdown: true}

// Trigger values: what opened a transaction.
const (
	TriggerLoop  = "loop"
	TriggerVideo = "video"
)

// MaxCandidates bounds Occupant.Candidates.
const MaxCandidates = 5

// Scored is one gallery subject and its similarity score.
type Scored struct {
	SubjectID string  `json:"subject_id"`
	Score     float64 `json:"score"`
}

// Attempts counts what the lane tried for one occupant.
type Attempts struct {
	Faces    int `json:"faces"`    // detections tracked
	Usable   int `json:"usable"`   // of those, passed the quality gate
	Embedded int `json:"embedded"` // templates computed and searched
}

// Fault is a camera or sensor fault seen during a transaction.
type Fault struct {
	Source string `json:"source"` // camera or input name
	Code   string `json:"code"`   // e.g. camera.lost, loop.stuck_on
}

func validateCandidate(e *errs, f string, o Occupant) {
	if o.Score == nil || o.Quality == nil || len(o.Candidates) == 0 {
		e.add(f+"decision", "candidate needs score, quality and candidates")
	}
	if o.Reason != "" || o.SubjectID != "" {
		e.add(f+"decision", "candidate allows no reason or subject_id (it is not an identity)")
	}
}

// validateOccupantV2 checks the fields schema 2 added.
func validateOccupantV2(e *errs, f string, ver int, o Occupant) {
	if ver < 2 {
		if o.Decision == Candidate || o.Candidates != nil || o.Attempts != nil {
			e.add(f+"decision", "candidate, candidates and attempts need schema_version 2")
		}
		return
	}
	if len(o.Candidates) > MaxCandidates {
		e.add(f+"candidates", "%d, max %d", len(o.Candidates), MaxCandidates)
	}
	if len(o.Candidates) > 0 && o.Decision != Match && o.Decision != Candidate {
		e.add(f+"candidates", "only with match or candidate (a stranger's nearest subjects are not sent)")
	}
	for j, c := range o.Candidates {
		g := fmt.Sprintf("%scandidates[%d].", f, j)
		e.match(g+"subject_id", c.SubjectID, reID)
		e.num(g+"score", c.Score, -1, 1)
	}
	if a := o.Attempts; a != nil {
		for _, v := range []struct {
			n string
			v int
		}{{"faces", a.Faces}, {"usable", a.Usable}, {"embedded", a.Embedded}} {
			if v.v < 0 || v.v > 100000 {
				e.add(f+"attempts."+v.n, "%d out of range [0, 100000]", v.v)
			}
		}
	}
}

// validateTransactionV2 checks the transaction-level fields schema 2 added.
func validateTransactionV2(e *errs, t *Transaction) {
	if t.SchemaVersion < 2 {
		if t.Trigger != "" || t.End != "" || t.Faults != nil {
			e.add("schema_version", "trigger, end and faults need schema_version 2")
		}
		return
	}
	if t.Trigger != "" && t.Trigger != TriggerLoop && t.Trigger != TriggerVideo {
		e.add("trigger", "%q, want loop or video", clip(t.Trigger))
	}
	if t.End != "" && !ends[t.End] {
		e.add("end", "unknown %q", clip(string(t.End)))
	}
	if len(t.Faults) > 16 {
		e.add("faults", "%d, max 16", len(t.Faults))
	}
	for i, f := range t.Faults {
		e.match(fmt.Sprintf("faults[%d].source", i), f.Source, reName)
		e.match(fmt.Sprintf("faults[%d].code", i), f.Code, reCode)
	}
}

// NewTransaction returns a transaction header of the current version.
func NewTransaction() Transaction {
	return Transaction{Header: Header{SchemaVersion: TransactionSchemaVersion, Kind: KindTransaction}}
}
