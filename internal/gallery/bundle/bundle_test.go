package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var (
	testNow  = time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)
	testSeed = bytes.Repeat([]byte{7}, ed25519.SeedSize)
	testKey  = ed25519.NewKeyFromSeed(testSeed)
	otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
)

const testModel = "test-model"

func testManifest(version uint64) Manifest {
	return Manifest{Version: version, Kind: Full, Created: testNow.Add(-time.Hour), Expires: testNow.Add(30 * 24 * time.Hour), ModelID: testModel, Dim: 4}
}

func testOpts() VerifyOptions {
	return VerifyOptions{Keys: NewKeyRing(testKey.Public().(ed25519.PublicKey)), ModelID: testModel, Dim: 4, Now: testNow}
}

func vec(seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, 4)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func buildBundle(t testing.TB, m Manifest, recs []*Record) []byte {
	t.Helper()
	w, err := NewWriter(m, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.Finish(&buf, testKey); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func someRecords(n int) []*Record {
	recs := make([]*Record, n)
	for i := range recs {
		recs[i] = &Record{Subject: fmt.Sprintf("s%05d", i), Templates: [][]float32{vec(uint64(i))}, Category: "watch",
			Attributes: map[string]string{"name": fmt.Sprint("n", i)}}
	}
	return recs
}

func TestRoundTrip(t *testing.T) {
	recs := someRecords(50)
	recs[3].Templates = append(recs[3].Templates, vec(999))
	recs[4].ValidFrom, recs[4].ValidUntil = testNow, testNow.Add(time.Hour)
	b := buildBundle(t, testManifest(3), recs)
	r, err := NewReader(bytes.NewReader(b), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Manifest(); m.Version != 3 || m.RecordCount != 50 || m.ResultCount != 50 || m.KeyID != KeyIDOf(testKey.Public().(ed25519.PublicKey)) {
		t.Fatalf("manifest %+v", m)
	}
	for i := 0; ; i++ {
		got, err := r.Next()
		if err == io.EOF {
			if i != 50 {
				t.Fatalf("%d records", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := recs[i]
		if got.Subject != want.Subject || len(got.Templates) != len(want.Templates) || got.Category != "watch" ||
			got.Attributes["name"] != want.Attributes["name"] || !got.ValidFrom.Equal(want.ValidFrom) || !got.ValidUntil.Equal(want.ValidUntil) {
			t.Fatalf("record %d: got %+v want %+v", i, got, want)
		}
		for j := range want.Templates {
			for k := range want.Templates[j] {
				if got.Templates[j][k] != want.Templates[j][k] {
					t.Fatalf("record %d template %d differs", i, j)
				}
			}
		}
	}
}

// rawRecord encodes a record without the Writer's checks.
func rawRecord(t testing.TB, r *Record) []byte {
	b, err := MarshalRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sealed(t testing.TB, m Manifest, key ed25519.PrivateKey, recs ...*Record) []byte {
	var sec []byte
	for _, r := range recs {
		sec = AppendRecord(sec, rawRecord(t, r))
	}
	var buf bytes.Buffer
	if _, err := Seal(&buf, m, key, sec, uint64(len(recs))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyRejects(t *testing.T) {
	good := buildBundle(t, testManifest(2), someRecords(20))
	rec := func(s string, v ...[]float32) *Record { return &Record{Subject: s, Templates: v} }
	nan := []float32{1, float32(math.NaN()), 0, 0}
	inf := []float32{1, float32(math.Inf(1)), 0, 0}
	flip := func(off int) []byte {
		b := bytes.Clone(good)
		b[off] ^= 0x40
		return b
	}
	sigOff := headerSize + int(binary.LittleEndian.Uint32(good[20:]))
	delta := testManifest(5)
	delta.Kind, delta.BaseVersion = Delta, 4
	expired := testManifest(2)
	expired.Expires = testNow
	model := testManifest(2)
	model.ModelID = "other"
	dim := testManifest(2)
	dim.Dim = 8
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"not a bundle", []byte("PK\x03\x04 some zip file"), ErrFormat},
		{"header cut", good[:15], ErrTruncated},
		{"manifest cut", good[:sigOff-3], ErrTruncated},
		{"records cut", good[:len(good)-100], ErrTruncated},
		{"last byte cut", good[:len(good)-1], ErrTruncated},
		{"trailing data", append(bytes.Clone(good), 0), ErrCorrupt},
		{"manifest bit flipped", flip(headerSize + 3), ErrBadSignature},
		{"signature bit flipped", flip(sigOff + 10), ErrBadSignature},
		{"key id changed", flip(14), ErrUnknownKey},
		{"record bit flipped", flip(len(good) - 30), ErrCorrupt},
		{"other signer", sealed(t, testManifest(2), otherKey, rec("a", vec(1))), ErrUnknownKey},
		{"expired", sealed(t, expired, testKey, rec("a", vec(1))), ErrExpired},
		{"wrong model", sealed(t, model, testKey, rec("a", vec(1))), ErrModel},
		{"wrong dimension", sealed(t, dim, testKey, rec("a", make([]float32, 8))), ErrModel},
		{"short template", sealed(t, testManifest(2), testKey, rec("a", []float32{1, 2, 3})), ErrBadTemplate},
		{"NaN", sealed(t, testManifest(2), testKey, rec("a", nan)), ErrBadTemplate},
		{"Inf", sealed(t, testManifest(2), testKey, rec("a", inf)), ErrBadTemplate},
		{"zero vector", sealed(t, testManifest(2), testKey, rec("a", make([]float32, 4))), ErrBadTemplate},
		{"no template", sealed(t, testManifest(2), testKey, rec("a")), ErrBadTemplate},
		{"duplicate subject", sealed(t, testManifest(2), testKey, rec("a", vec(1)), rec("a", vec(2))), ErrDuplicate},
		{"unsorted", sealed(t, testManifest(2), testKey, rec("b", vec(1)), rec("a", vec(2))), ErrCorrupt},
		{"empty subject", sealed(t, testManifest(2), testKey, rec("", vec(1))), ErrCorrupt},
		{"removal in full", sealed(t, testManifest(2), testKey, &Record{Subject: "a", Remove: true}), ErrCorrupt},
		{"removal with templates", sealed(t, delta, testKey, &Record{Subject: "a", Remove: true, Templates: [][]float32{vec(1)}}), ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(tc.b), testOpts())
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestWriterRefuses(t *testing.T) {
	w, err := NewWriter(testManifest(1), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(&Record{Subject: "b", Templates: [][]float32{vec(1)}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Record{
		{Subject: "b", Templates: [][]float32{vec(1)}},
		{Subject: "a", Templates: [][]float32{vec(1)}},
		{Subject: "c", Templates: [][]float32{{0, 0, 0, 0}}},
		{Subject: "c"},
		{Subject: "c", Remove: true},
		{Subject: "", Templates: [][]float32{vec(1)}},
	} {
		if err := w.Add(r); err == nil {
			t.Errorf("Add(%+v) accepted", r)
		}
	}
}

func TestReadHeaderShowsRefusedManifest(t *testing.T) {
	b := sealed(t, testManifest(7), otherKey, &Record{Subject: "a", Templates: [][]float32{vec(1)}})
	m, err := ReadHeader(bytes.NewReader(b), testOpts().Keys)
	if !errors.Is(err, ErrUnknownKey) || m == nil || m.Version != 7 {
		t.Fatalf("got %+v, %v", m, err)
	}
}

func signManifest(mb []byte) []byte {
	return ed25519.Sign(testKey, append([]byte(SignContext), mb...))
}

func TestScanRecordAgreesWithDecode(t *testing.T) {
	for i, r := range someRecords(5) {
		r.Templates = append(r.Templates, vec(uint64(100+i)))
		r.ValidFrom, r.ValidUntil = testNow, testNow.Add(time.Duration(i+1)*time.Hour)
		b := rawRecord(t, r)
		s, flat, err := ScanRecord(b, 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Subject != r.Subject || s.Templates != 2 || s.ValidFrom != r.ValidFrom.Unix() || s.ValidUntil != r.ValidUntil.Unix() || len(flat) != 8 {
			t.Fatalf("scanned %+v", s)
		}
		for j, x := range append(r.Templates[0], r.Templates[1]...) {
			if flat[j] != x {
				t.Fatalf("template value %d differs", j)
			}
		}
	}
	bad := rawRecord(t, &Record{Subject: "a", Templates: [][]float32{{0, 0, 0, 0}}})
	if _, _, err := ScanRecord(bad, 4, nil); !errors.Is(err, ErrBadTemplate) {
		t.Fatalf("zero vector: %v", err)
	}
}

// TestOneSubjectIDRule: a lane refuses a record whose subject id a
// summary could not carry, whoever signed it.
func TestOneSubjectIDRule(t *testing.T) {
	v := make([]float32, 4)
	v[0] = 1
	for _, id := range []string{"José Ñ", "S 1", "-S", strings.Repeat("a", 65), "a\x1bb"} {
		b, err := MarshalRecord(&Record{Subject: id, Templates: [][]float32{v}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeRecord(b, 4, Full); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "subject id") {
			t.Errorf("%q: DecodeRecord = %v", id, err)
		}
	}
	b, _ := MarshalRecord(&Record{Subject: "S-000481:x.y_z", Templates: [][]float32{v}})
	if _, err := DecodeRecord(b, 4, Full); err != nil {
		t.Error(err)
	}
}
