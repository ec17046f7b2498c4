package summary

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestMarshalUTC: a payload built with local times is published in UTC,
// as the schemas require ("Z"), without changing the caller's value.
func TestMarshalUTC(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tr := *examples()["transaction_mixed"].(*Transaction)
	tr.DetectedAt = tr.DetectedAt.In(cet)
	tr.CompletedAt = tr.CompletedAt.In(cet)
	ev := *examples()["event_fault"].(*Event)
	ev.At = ev.At.In(cet)
	st := *examples()["status_online"].(*Status)
	since := st.Since.In(cet)
	st.Since = &since
	h := *examples()["health_full"].(*Health)
	h.At = h.At.In(cet)
	for name, v := range map[string]any{"transaction": &tr, "event": &ev, "status": &st, "health": &h} {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("+01:00")) {
				t.Errorf("non-UTC time in %s", b)
			}
			if err := ValidateJSON(b); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
	if tr.DetectedAt.Location() != cet || st.Since.Location() != cet {
		t.Error("Marshal changed the caller's times")
	}
}

// TestStampByStructure: Stamp looks at the top-level keys, not at bytes:
// an event may mention "sequence" or "message_id" in its text or details,
// and an escaped or differently-cased top-level key is still refused.
func TestStampByStructure(t *testing.T) {
	ev := *examples()["event_fault"].(*Event)
	ev.MessageID, ev.Sequence = "", 0
	ev.Message = `outbox "sequence" jumped; "message_id" unchanged`
	ev.Details = map[string]string{"sequence": "41", "message_id": "x"}
	raw, err := Marshal(&ev)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Stamp(raw, testID, 7)
	if err != nil {
		t.Fatalf("Stamp refused an event that mentions sequence: %v", err)
	}
	if _, err := Unmarshal(st); err != nil {
		t.Error(err)
	}
	for name, p := range map[string]string{
		"escaped key":   `{"sequ\u0065nce":3,"kind":"event"}`,
		"escaped id":    `{"message\u005fid":"x"}`,
		"other case":    `{"Sequence":3}`,
		"spaced":        `{ "message_id" : "x" }`,
		"not json":      `{"a":}`,
		"two objects":   `{}{}`,
		"trailing junk": `{"a":1} x`,
	} {
		if b, err := Stamp([]byte(p), testID, 1); err == nil {
			t.Errorf("%s: Stamp accepted %s -> %s", name, p, b)
		}
	}
}

// TestDecoderAsStrictAsSchema: what the schema refuses, the decoder refuses.
func TestDecoderAsStrictAsSchema(t *testing.T) {
	b, err := Marshal(examples()["transaction_mixed"])
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := Marshal(examples()["health_full"])
	eb, _ := Marshal(examples()["event_fault"])
	s := string(b)
	cases := map[string]string{
		"capitalised key":     strings.Replace(s, `"site":`, `"Site":`, 1),
		"upper-case kind key": strings.Replace(s, `"kind":`, `"KIND":`, 1),
		"non-UTC time":        strings.Replace(s, `"detected_at":"2026-11-25T22:14:03.12Z"`, `"detected_at":"2026-11-25T23:14:03.12+01:00"`, 1),
		"null score":          strings.Replace(s, `"score":0.41`, `"score":null`, 1),
		"null camera":         strings.Replace(s, `"camera":"cam-rear"`, `"camera":null`, 1),
		"null cameras":        strings.Replace(string(hb), `"cameras":[`, `"cameras":null,"x":[`, 1),
		"null details":        strings.Replace(string(eb), `"details":{"camera":"cam-rear","errno":"ENODEV"}`, `"details":null`, 1),
		"null gallery":        strings.Replace(string(hb), `"gallery":{`, `"gallery":null,"g":{`, 1),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == s || in == string(hb) || in == string(eb) {
				t.Fatal("test case did not change the payload")
			}
			if !json.Valid([]byte(in)) {
				t.Fatalf("not JSON: %s", in)
			}
			if _, err := Unmarshal([]byte(in)); err == nil {
				t.Errorf("decoder accepted %s", in)
			}
			if err := ValidateJSON([]byte(in)); err == nil {
				t.Errorf("schema accepted %s", in)
			}
		})
	}
}

// TestCheckUnstamped is the check the outbox runs before it stores a
// payload: the JSON Schema (stamped or not) and the strict decoder.
func TestCheckUnstamped(t *testing.T) {
	tr := *examples()["transaction_mixed"].(*Transaction)
	tr.MessageID, tr.Sequence = "", 0
	raw, err := Marshal(&tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckUnstamped(KindTransaction, raw); err != nil {
		t.Fatalf("valid payload refused: %v", err)
	}
	tmpl := strings.Replace(string(raw), `"site":`, `"template":"AAAAPwAAgD8AAAA/","site":`, 1)
	for name, c := range map[string]struct {
		k Kind
		b string
	}{
		"template field": {KindTransaction, tmpl},
		"wrong kind":     {KindEvent, string(raw)},
		"stamped":        {KindTransaction, string(mustStamp(t, raw))},
		"not json":       {KindTransaction, `{"kind":"transaction"`},
		"empty":          {KindTransaction, ``},
	} {
		err := CheckUnstamped(c.k, []byte(c.b))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
	if err := CheckUnstamped(KindTransaction, []byte(tmpl)); err == nil || !strings.Contains(err.Error(), "template") {
		t.Errorf("the refusal does not name the field: %v", err)
	}
}

func mustStamp(t *testing.T, b []byte) []byte {
	t.Helper()
	s, err := Stamp(b, testID, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
