package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"github.com/laned/laned/internal/summary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func validRecord(t testing.TB, m Message) []byte {
	t.Helper()
	b, err := encodeRecord(&m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var sampleMsg = Message{
	Seq: 42, ID: "0193f1c2-7e6a-7c1b-9f4e-2b1d5a6c7e8f", Kind: KindEvent,
	Created: time.Date(2026, 11, 25, 22, 51, 16, 123456789, time.UTC), Attempts: 2,
	Reason: "broker: not authorized", Payload: []byte(`{"event":"camera-lost"}`),
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []Message{
		sampleMsg,
		{Seq: 1, Kind: KindSummary, Created: time.Unix(0, 0).UTC()},
		{Seq: 1<<64 - 1, Kind: KindHealth, Created: time.Unix(0, -1).UTC(), Attempts: 1<<32 - 1, Payload: make([]byte, 70000)},
	}
	for _, m := range tests {
		b := validRecord(t, m)
		if len(b) != encodedSize(&m) {
			t.Errorf("size %d, encodedSize %d", len(b), encodedSize(&m))
		}
		got, err := decodeRecord(m.Seq, b)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != m.ID || got.Kind != m.Kind || !got.Created.Equal(m.Created) || got.Attempts != m.Attempts ||
			got.Reason != m.Reason || !bytes.Equal(got.Payload, m.Payload) || got.Seq != m.Seq {
			t.Errorf("round trip\n got %+v\nwant %+v", got, m)
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := validRecord(t, sampleMsg)
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	resum := func(b []byte) []byte {
		body := b[:len(b)-4]
		binary.BigEndian.PutUint32(b[len(b)-4:], crcOf(body))
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "0 bytes, shorter than the 40-byte minimum"},
		{"truncated", good[:len(good)-1], "checksum"},
		{"version", mut(func(b []byte) []byte { b[0] = 9; return b }), "unknown version 9"},
		{"flipped payload bit", mut(func(b []byte) []byte { b[len(b)-6] ^= 1; return b }), "checksum"},
		{"bad kind", mut(func(b []byte) []byte { b[1] = 0; return resum(b) }), "invalid kind 0"},
		{"payload length", mut(func(b []byte) []byte { b[35]++; return resum(b) }), "do not fill"},
		{"reason length", mut(func(b []byte) []byte { b[30] = 0xff; return resum(b) }), "do not fill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRecord(42, tt.b)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "record 42") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want ErrCorrupt naming record 42 and %q", err, tt.want)
			}
		})
	}
}

func TestEncodeRecordBadID(t *testing.T) {
	m := sampleMsg
	m.ID = "not-a-uuid"
	if _, err := encodeRecord(&m); err == nil || !strings.Contains(err.Error(), "record 42") {
		t.Fatalf("err %v", err)
	}
}

// TestCorruptRecordQuarantined: a record damaged on disk does not block the
// queue: Check names it, Pending skips it and moves it to the quarantine.
func TestCorruptRecordQuarantined(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"a", "b", "c"} {
		f.enqueue(KindSummary, p)
	}
	err := f.ob.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOf(KindSummary))
		v := bytes.Clone(b.Get(key(2)))
		v[len(v)-5] ^= 0xff
		return b.Put(key(2), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ob.Check(); err == nil || !strings.Contains(err.Error(), "record 2") {
		t.Fatalf("check: %v", err)
	}
	msgs, err := f.ob.Pending(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Seq != 1 || msgs[1].Seq != 3 {
		t.Fatalf("pending %+v", msgs)
	}
	q, err := f.ob.Quarantined()
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].Seq != 2 || !strings.Contains(q[0].Reason, "checksum") || q[0].Kind != KindSummary {
		t.Fatalf("quarantine %+v", q)
	}
	s := f.ob.Stats()
	if s.Quarantined != 1 || s.Classes[KindSummary].Quarantined != 1 || s.Classes[KindSummary].Count != 2 {
		t.Fatalf("stats %+v", s)
	}
	if err := f.ob.Check(); err != nil {
		t.Fatalf("check after quarantine: %v", err)
	}
	if !strings.Contains(f.logs.String(), "quarantined") {
		t.Fatal("not logged")
	}
	// The queue moves on.
	if m, err := f.ob.Enqueue(context.Background(), KindSummary, []byte("d")); err != nil || m.Seq != 4 {
		t.Fatalf("enqueue after: %v %v", m.Seq, err)
	}
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// FuzzDecodeRecord: any stored bytes give a record or an error naming the
// seq, never a panic; a record that decodes re-encodes to the same bytes.
// With fix set the checksum is recomputed first, so the fuzzer reaches the
// structural checks behind it.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(validRecord(f, sampleMsg), false)
	f.Add(validRecord(f, Message{Kind: KindSummary}), false)
	f.Add(validRecord(f, Message{Kind: KindHealth, Payload: summaryPayload[:100]}), true)
	f.Add([]byte{}, false)
	f.Add([]byte{1, 1, 0, 0}, true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= 4 {
			b = bytes.Clone(b) // the fuzzer's input must not be modified
			binary.BigEndian.PutUint32(b[len(b)-4:], crcOf(b[:len(b)-4]))
		}
		m, err := decodeRecord(7, b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "record 7") {
				t.Fatalf("error %v does not wrap ErrCorrupt and name the record", err)
			}
			return
		}
		again, err := encodeRecord(&m)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", m, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded\n%x\nwant\n%x", again, b)
		}
	})
}

func TestCheckFile(t *testing.T) {
	f := newFixture(t, nil)
	f.enqueue(KindSummary, "a")
	f.enqueue(KindEvent, "event-payload-to-corrupt")
	corruptPath := filepath.Join(t.TempDir(), "corrupt.db")
	plainPath := filepath.Join(t.TempDir(), "plain.db")
	db, err := bbolt.Open(plainPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	if err := CheckFile(f.path, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("check while open: %v", err)
	}
	if err := f.ob.Check(); err != nil {
		t.Fatal(err)
	}
	f.ob.Close()
	f.ob = nil
	data, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	// Change the stored payload (every copy, live and freed pages): the
	// record's CRC no longer holds.
	data = bytes.ReplaceAll(data, []byte("event-payload-to-corrupt"), []byte("EVENT-payload-to-corrupt"))
	if err := os.WriteFile(corruptPath, data, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path, want string
	}{
		{"good", f.path, ""},
		{"missing", filepath.Join(t.TempDir(), "none.db"), "no such file or directory"},
		{"not an outbox", plainPath, `not an outbox: no bucket "meta"`},
		{"corrupt record", corruptPath, "bucket q/event: outbox: record 2: corrupt record: checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFile(tt.path, time.Second)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("err %v, want %q naming the file", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Fatal("CheckFile created a missing file")
	}
}

// TestKindIsThePayloadKind: the outbox's class is the summary payload kind
// (one type); on disk the first format's numbers and bucket names stay.
func TestKindIsThePayloadKind(t *testing.T) {
	for i, k := range Kinds() {
		if slot(k) != i+1 || kindAt(byte(i+1)) != k {
			t.Errorf("%s: slot %d, kindAt %q", k, slot(k), kindAt(byte(i+1)))
		}
	}
	if string(bucketOf(KindSummary)) != "q/summary" || string(bucketOf(KindHealth)) != "q/health" {
		t.Errorf("bucket names changed: %s %s", bucketOf(KindSummary), bucketOf(KindHealth))
	}
	if slot(summary.KindStatus) != 0 || kindAt(0) != "" || kindAt(4) != "" {
		t.Error("status (not queued) or byte 0/4 has a class")
	}
	// Stats render with readable class names for health reports.
	f := newFixture(t, nil)
	f.enqueue(KindSummary, "s")
	js, err := json.Marshal(f.ob.Stats())
	if err != nil || !strings.Contains(string(js), `"transaction":{"Count":1`) {
		t.Fatalf("stats json %s %v", js, err)
	}
}
