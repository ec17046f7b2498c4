package collect

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/laned/laned/internal/summary"
)

var codes = map[string]bool{CodeOversize: true, CodeTopic: true, CodeMalformed: true, CodeSchema: true, CodeMismatch: true,
	CodeUnknownLane: true, CodeStale: true}

// FuzzIngest: whatever arrives on whatever topic is either refused with a
// known code and a reason, or becomes a message or status whose lane is
// the topic's and whose payload passed the schema.
func FuzzIngest(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/summary/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add("laned/north-crossing/L2/transactions", b)
		f.Add("laned/north-crossing/L2/status", b)
	}
	f.Add("laned/a/b/health", []byte(`{"kind":"health"}`))
	f.Add("laned/a/b/events", []byte("\xff"))
	in := newIngester(Config{Lanes: []LaneID{{"north-crossing", "L2"}}}.WithDefaults())
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, topic string, b []byte) {
		p := in.parse(topic, b, now)
		n := 0
		for _, x := range []bool{p.refusal != nil, p.msg != nil, p.status != nil} {
			if x {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d outcomes for %q", n, b)
		}
		if r := p.refusal; r != nil {
			if !codes[r.Code] || r.Reason == "" || r.Size != len(b) {
				t.Fatalf("refusal %+v", r)
			}
			return
		}
		tp, err := ParseTopic("laned", topic)
		if err != nil || !utf8.Valid(b) || summary.ValidateJSON(b) != nil {
			t.Fatalf("accepted %q on %q", b, topic)
		}
		if m := p.msg; m != nil && (m.Site != tp.Site || m.Lane != tp.Lane || m.Seq == 0 || m.ID == "") {
			t.Fatalf("message %+v from topic %+v", m, tp)
		}
		if s := p.status; s != nil && (s.Site != tp.Site || s.Lane != tp.Lane) {
			t.Fatalf("status %+v from topic %+v", s, tp)
		}
	})
}
