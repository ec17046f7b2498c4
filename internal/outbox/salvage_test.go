package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// damagedOutbox writes a real outbox: 40 messages of each class, the first
// 30 acknowledged; it returns the file and the ids still waiting.
func damagedOutbox(t *testing.T) ([]byte, map[string]uint64) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "outbox.db")
	ob, err := Open(p, Options{Validate: AnyPayload, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var acks []uint64
	for i := range 120 {
		m, err := ob.Enqueue(context.Background(), allKinds[i%3], bytes.Repeat([]byte{byte('a' + i%26)}, 300+i))
		if err != nil {
			t.Fatal(err)
		}
		if i < 30 {
			acks = append(acks, m.Seq)
		}
	}
	if err := ob.Ack(acks...); err != nil {
		t.Fatal(err)
	}
	waiting := map[string]uint64{}
	ms, _ := ob.Pending(1000)
	for _, m := range ms {
		waiting[m.ID] = m.Seq
	}
	ob.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b, waiting
}

type salvageReport struct {
	Err         string
	Recovered   *Recovery
	Pending     map[string]uint64
	Quarantined int
	NextSeq     uint64
}

// TestDamagedOutboxSalvaged: a truncated, zeroed or garbage outbox never
// kills the process (each opened in a child): Open moves it aside,
// re-queues every record it can still read (checksum intact, with its
// message id and sequence, so consumers drop the duplicates), reports the
// rest as lost with their sequence range, and a fresh outbox carries on
// with sequence numbers above every one used before.
func TestDamagedOutboxSalvaged(t *testing.T) {
	if p := os.Getenv("LANED_DAMAGED_OUTBOX"); p != "" {
		damagedOutboxChild(p)
		return
	}
	orig, waiting := damagedOutbox(t)
	ps := os.Getpagesize()
	pats := map[string]func([]byte) []byte{
		"intact":              func(b []byte) []byte { return b },
		"metas zeroed":        func(b []byte) []byte { clear(b[:2*ps]); return b },
		"truncated to half":   func(b []byte) []byte { return b[:len(b)/2] },
		"truncated mid-page":  func(b []byte) []byte { return b[:len(b)-ps/2] },
		"all garbage":         func(b []byte) []byte { r := rand.New(rand.NewPCG(1, 1)); fill(r, b); return b },
		"garbage after metas": func(b []byte) []byte { r := rand.New(rand.NewPCG(2, 1)); fill(r, b[2*ps:]); return b },
		// message 100 (seq 101, 400 bytes of 'w') damaged in every copy,
		// and the metas: it must be reported lost, by its seq
		"metas zeroed, one record damaged": func(b []byte) []byte {
			clear(b[:2*ps])
			run := bytes.Repeat([]byte{'w'}, 400)
			for i := 0; ; {
				j := bytes.Index(b[i:], run)
				if j < 0 {
					break
				}
				b[i+j+200] ^= 1
				i += j + 400
			}
			return b
		},
	}
	for i := 2; i < len(orig)/ps; i += 3 {
		pats[fmt.Sprintf("page %d zeroed", i)] = func(b []byte) []byte { clear(b[i*ps : (i+1)*ps]); return b }
		pats[fmt.Sprintf("page %d half garbage", i)] = func(b []byte) []byte {
			fill(rand.New(rand.NewPCG(uint64(i), 3)), b[i*ps+ps/2:(i+1)*ps])
			return b
		}
	}
	for name, f := range pats {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "outbox.db")
			os.WriteFile(p, f(bytes.Clone(orig)), 0o600)
			cmd := exec.Command(os.Args[0], "-test.run=^TestDamagedOutboxSalvaged$")
			cmd.Env = append(os.Environ(), "LANED_DAMAGED_OUTBOX="+p)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child failed (%v):\n%s", err, out)
			}
			var r salvageReport
			if err := json.NewDecoder(bytes.NewReader(out)).Decode(&r); err != nil {
				t.Fatalf("child said %q", out)
			}
			if r.Err != "" {
				t.Fatalf("Open failed: %s", r.Err)
			}
			var maxSeq uint64
			for _, s := range waiting {
				maxSeq = max(maxSeq, s)
			}
			if r.NextSeq <= maxSeq {
				t.Errorf("next seq %d reuses a sequence number (max before %d)", r.NextSeq, maxSeq)
			}
			rec := r.Recovered
			if name == "intact" {
				if rec != nil || len(r.Pending) != len(waiting) {
					t.Errorf("intact: recovered %+v, %d pending", rec, len(r.Pending))
				}
				return
			}
			if rec == nil {
				// The structure is sound: everything is still there, but
				// a record whose bytes were hit is quarantined as corrupt
				// when Pending reads it (counted, kept for inspection).
				if len(r.Pending)+r.Quarantined != len(waiting) {
					t.Errorf("no recovery, but %d of %d pending and %d quarantined", len(r.Pending), len(waiting), r.Quarantined)
				}
				return
			}
			if _, err := os.Stat(rec.MovedTo); err != nil {
				t.Errorf("damaged file not kept: %v", err)
			}
			// Every salvaged message is one that was waiting (or acked:
			// a stale page copy), with its original id and seq.
			found := 0
			for id, seq := range r.Pending {
				if s, ok := waiting[id]; ok {
					found++
					if s != seq {
						t.Errorf("message %s re-queued as seq %d, was %d", id, seq, s)
					}
				}
			}
			if rec.Salvaged != len(r.Pending) {
				t.Errorf("report says %d salvaged, %d pending", rec.Salvaged, len(r.Pending))
			}
			if missing := len(waiting) - found; missing > 0 && rec.Lost == 0 && name != "all garbage" {
				t.Logf("%d waiting messages neither salvaged nor counted lost (their pages are gone)", missing)
			}
			if rec.Lost > 0 && (rec.LostFirst == 0 || rec.LostLast < rec.LostFirst) {
				t.Errorf("lost range %d..%d", rec.LostFirst, rec.LostLast)
			}
			t.Logf("salvaged %d (%d of the %d waiting), lost %d (seq %d..%d)", rec.Salvaged, found, len(waiting), rec.Lost, rec.LostFirst, rec.LostLast)
			if name == "metas zeroed, one record damaged" && (rec.Lost != 1 || rec.LostFirst != 101 || found != len(waiting)-1) {
				t.Errorf("want exactly seq 101 lost and the other %d salvaged", len(waiting)-1)
			}
			if name == "metas zeroed" && found != len(waiting) {
				t.Errorf("metas zeroed, all data pages intact: salvaged %d of %d", found, len(waiting))
			}
		})
	}
}

func fill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func damagedOutboxChild(p string) {
	var r salvageReport
	defer func() { json.NewEncoder(os.Stdout).Encode(r) }()
	ob, err := Open(p, Options{Validate: AnyPayload, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		r.Err = err.Error()
		return
	}
	defer ob.Close()
	r.Recovered = ob.Recovered()
	r.Pending = map[string]uint64{}
	ms, err := ob.Pending(100000)
	if err != nil {
		r.Err = err.Error()
		return
	}
	for _, m := range ms {
		r.Pending[m.ID] = m.Seq
	}
	r.Quarantined = ob.Stats().Quarantined
	m, err := ob.Enqueue(context.Background(), KindEvent, []byte("after"))
	if err != nil {
		r.Err = err.Error()
		return
	}
	r.NextSeq = m.Seq
}
