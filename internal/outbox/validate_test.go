package outbox

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/laned/laned/internal/summary"
)

func validTransaction(t testing.TB) []byte {
	t.Helper()
	at := time.Date(2026, 11, 25, 22, 14, 3, 0, time.UTC)
	s, q := 0.9, 0.8
	b, err := summary.Marshal(&summary.Transaction{
		Header:        summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindTransaction},
		TransactionID: "L2-1", Site: "north", Lane: "L2", DetectedAt: at, CompletedAt: at.Add(time.Second),
		GalleryVersion: "g1", ModelID: "m1",
		Occupants: []summary.Occupant{{Index: 0, Decision: summary.Match, SubjectID: "S-1", Score: &s, Quality: &q}},
		Latency:   summary.Latency{Total: 1000},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEnqueueEnforcesSchemas: with default options, the outbox stores only
// payloads that pass the JSON Schema of their class; a payload with an
// extra template field is refused before it is stored, counted and
// reported to OnInvalid (the daemon's event emitter).
func TestEnqueueEnforcesSchemas(t *testing.T) {
	var mu sync.Mutex
	var reported []string
	f := newFixture(t, func(o *Options) {
		o.Validate = nil // the default: summary schemas
		o.OnInvalid = func(k Kind, err error) {
			mu.Lock()
			reported = append(reported, string(k)+": "+err.Error())
			mu.Unlock()
		}
	})
	good := validTransaction(t)
	if _, err := f.ob.Enqueue(f.ctx, KindSummary, good); err != nil {
		t.Fatalf("valid transaction refused: %v", err)
	}
	tmpl := []byte(strings.Replace(string(good), `"site":`, `"template":"AAAAPwAAgD8AAAA/","site":`, 1))
	for name, c := range map[string]struct {
		k Kind
		b []byte
	}{
		"template field":       {KindSummary, tmpl},
		"transaction as event": {KindEvent, good},
		"not json":             {KindHealth, []byte(`{"vehicle":`)},
		"stamped already":      {KindSummary, []byte(strings.Replace(string(good), `{`, `{"sequence":3,`, 1))},
	} {
		_, err := f.ob.Enqueue(f.ctx, c.k, c.b)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Enqueue = %v, want ErrInvalid", name, err)
		}
	}
	st := f.ob.Stats()
	if st.Count != 1 || st.Classes[KindSummary].Invalid != 2 || st.Classes[KindEvent].Invalid != 1 || st.Total().Invalid != 4 {
		t.Errorf("stats: count %d, invalid %+v", st.Count, st.Classes)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 4 || !strings.Contains(strings.Join(reported, "\n"), "template") {
		t.Errorf("OnInvalid got %q", reported)
	}
	if !strings.Contains(f.logs.String(), "outbox refused invalid payload") {
		t.Errorf("no log line:\n%s", f.logs.String())
	}
}

// BenchmarkSummarySchemas is what the schema check adds to each Enqueue
// of a transaction (compare BenchmarkEnqueue).
func BenchmarkSummarySchemas(b *testing.B) {
	p := validTransaction(b)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := SummarySchemas(KindSummary, p); err != nil {
			b.Fatal(err)
		}
	}
}
