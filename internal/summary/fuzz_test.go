package summary

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSummaryRoundTrip: whatever the decoder accepts re-encodes to a
// payload that decodes to the same value and passes the JSON Schema, and
// nothing panics.
func FuzzSummaryRoundTrip(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"kind":"status"}`))
	f.Add([]byte(`{"schema_version":1,"kind":"event","details":{"a":"b"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unmarshal(b)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("accepted %q but cannot re-encode: %v", b, err)
		}
		if err := ValidateJSON(out); err != nil {
			t.Fatalf("decoder accepted what the schema refuses: %v\nin:  %s\nout: %s", err, b, out)
		}
		back, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out)
		}
		// An empty list or map and an absent one are the same payload
		// (omitempty), so compare the canonical encodings.
		again, err := Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("round trip differs (%v):\n%s\n%s", err, out, again)
		}
	})
}
