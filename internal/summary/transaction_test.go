package summary

import (
	"encoding/json"
	"strings"
	"testing"
)

func v2() *Transaction {
	t := *examples()["transaction_v2_candidates"].(*Transaction)
	t.Occupants = append([]Occupant(nil), t.Occupants...)
	return &t
}

// TestTransactionV2Rules: the candidate decision is never an identity, a
// stranger's nearest subjects are never sent, and a version 1 payload cannot
// carry version 2 fields; each rule holds in the Go validator and the schema.
func TestTransactionV2Rules(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Transaction)
		want string // "" = valid
	}{
		{"as is", func(*Transaction) {}, ""},
		{"candidate with subject", func(t *Transaction) { t.Occupants[1].SubjectID = "S-000907" }, "occupants[1].decision: candidate allows no reason or subject_id"},
		{"candidate without candidates", func(t *Transaction) { t.Occupants[1].Candidates = nil }, "candidate needs score, quality and candidates"},
		{"candidate without score", func(t *Transaction) { t.Occupants[1].Score = nil }, "candidate needs score"},
		{"no_match with candidates", func(t *Transaction) { t.Occupants[2].Candidates = []Scored{{"S-1", 0.1}} }, "occupants[2].candidates: only with match or candidate"},
		{"unusable with candidates", func(t *Transaction) { t.Occupants[3].Candidates = []Scored{{"S-1", 0.1}} }, "occupants[3].candidates"},
		{"too many candidates", func(t *Transaction) {
			t.Occupants[0].Candidates = make([]Scored, 6)
			for i := range t.Occupants[0].Candidates {
				t.Occupants[0].Candidates[i] = Scored{"S-1", 0.1}
			}
		}, "occupants[0].candidates: 6, max 5"},
		{"candidate score range", func(t *Transaction) { t.Occupants[0].Candidates[1].Score = 1.5 }, "candidates[1].score"},
		{"negative attempts", func(t *Transaction) { t.Occupants[0].Attempts = &Attempts{Faces: -1} }, "attempts.faces"},
		{"unknown end", func(t *Transaction) { t.End = "crashed" }, "end: unknown"},
		{"unknown trigger", func(t *Transaction) { t.Trigger = "radar" }, "trigger:"},
		{"bad fault code", func(t *Transaction) { t.Faults[0].Code = "Bad Code" }, "faults[0].code"},
		{"v1 with candidate", func(t *Transaction) {
			t.SchemaVersion = 1
			t.Trigger, t.End, t.Faults = "", "", nil
			for i := range t.Occupants {
				t.Occupants[i].Attempts = nil
				if t.Occupants[i].Decision != Candidate {
					t.Occupants[i].Candidates = nil
				}
			}
		}, "need schema_version 2"},
		{"v1 with end", func(t *Transaction) {
			t.SchemaVersion = 1
			t.Occupants = []Occupant{}
			t.Trigger, t.Faults = "", nil
		}, "trigger, end and faults need schema_version 2"},
		{"v1 plain", func(t *Transaction) {
			t.SchemaVersion = 1
			t.Occupants = []Occupant{}
			t.Trigger, t.End, t.Faults = "", "", nil
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := v2()
			c.edit(tr)
			err := tr.Validate(true)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted, want error %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			// The schema must agree with the Go validator.
			b, merr := marshalUnchecked(tr)
			if merr != nil {
				t.Fatal(merr)
			}
			if serr := ValidateJSON(b); (serr == nil) != (c.want == "") {
				t.Errorf("schema disagrees with the validator: schema says %v, validator %v", serr, err)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	if VersionOf(KindTransaction) != 2 || VersionOf(KindEvent) != 1 || VersionOf(KindHealth) != 1 || VersionOf(KindStatus) != 1 {
		t.Fatal("versions changed: update docs/uplink.md and this test")
	}
	if SchemaID(KindTransaction) != "https://laned.dev/schema/transaction/2" {
		t.Fatal(SchemaID(KindTransaction))
	}
	nt := NewTransaction()
	if nt.SchemaVersion != 2 || nt.Kind != KindTransaction {
		t.Fatal(nt.Header)
	}
}

// marshalUnchecked encodes t without the Go validator, so the schema can be
// checked on its own.
func marshalUnchecked(t *Transaction) ([]byte, error) { return json.Marshal(t) }
