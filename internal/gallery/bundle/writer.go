package bundle

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"google.golang.org/protobuf/proto"
)

// Writer builds a bundle from records added in strictly increasing order of
// subject id. The records section is spooled to a temporary file (the
// manifest in front of it needs its length and digest), so memory stays
// bounded however many records there are.
type Writer struct {
	m      Manifest
	tmp    *os.File
	buf    *bufio.Writer
	h      hash.Hash
	n      uint64
	size   uint64
	last   string
	lenBuf [binary.MaxVarintLen64]byte
	done   bool
}

// NewWriter starts a bundle described by m: Version, Kind, BaseVersion
// (Delta), Created, Expires, ModelID, Dim, Issuer and, for a Delta, the
// ResultCount the lane must end up with. Counts and the digest are filled
// in by Finish. tmpDir holds the spool file ("" for the system default).
func NewWriter(m Manifest, tmpDir string) (*Writer, error) {
	if m.Kind == 0 {
		m.Kind = Full
	}
	m.FormatVersion = FormatVersion
	if m.Dim <= 0 || m.Dim > maxDim {
		return nil, fmt.Errorf("new bundle writer: dimension %d", m.Dim)
	}
	if m.ModelID == "" {
		return nil, errors.New("new bundle writer: empty model id")
	}
	tmp, err := os.CreateTemp(tmpDir, "laned-bundle-*.records")
	if err != nil {
		return nil, fmt.Errorf("new bundle writer: %w", err)
	}
	w := &Writer{m: m, tmp: tmp, h: sha256.New()}
	w.buf = bufio.NewWriterSize(io.MultiWriter(tmp, w.h), 1<<20)
	return w, nil
}

// Add appends one record. Records must come sorted by subject id (bytewise)
// with no repeats; templates must have the bundle's dimension and be finite
// and non-zero.
func (w *Writer) Add(r *Record) error {
	if w.done {
		return errors.New("add record: writer finished")
	}
	if err := checkSubject(r.Subject); err != nil {
		return fmt.Errorf("add record: %w", err)
	}
	if w.n > 0 && r.Subject <= w.last {
		if r.Subject == w.last {
			return fmt.Errorf("add record: %w %q", ErrDuplicate, r.Subject)
		}
		return fmt.Errorf("add record %q: not after %q (records must be sorted by subject id)", r.Subject, w.last)
	}
	if r.Remove {
		if w.m.Kind != Delta {
			return fmt.Errorf("add record %q: removal in a %s bundle", r.Subject, w.m.Kind)
		}
		if len(r.Templates) != 0 {
			return fmt.Errorf("add record %q: removal carries templates", r.Subject)
		}
	} else {
		if err := checkWindow(r); err != nil {
			return fmt.Errorf("add record: %w", err)
		}
		if len(r.Templates) == 0 {
			return fmt.Errorf("add record %q: %w: no template", r.Subject, ErrBadTemplate)
		}
		for i, t := range r.Templates {
			if err := checkTemplate(t, w.m.Dim); err != nil {
				return fmt.Errorf("add record %q: %w: template %d: %v", r.Subject, ErrBadTemplate, i, err)
			}
		}
	}
	b, err := MarshalRecord(r)
	if err != nil {
		return err
	}
	if len(b) > maxRecordBytes {
		return fmt.Errorf("add record %q: %d bytes, limit %d", r.Subject, len(b), maxRecordBytes)
	}
	k := binary.PutUvarint(w.lenBuf[:], uint64(len(b)))
	if _, err := w.buf.Write(w.lenBuf[:k]); err != nil {
		return fmt.Errorf("add record %q: %w", r.Subject, err)
	}
	if _, err := w.buf.Write(b); err != nil {
		return fmt.Errorf("add record %q: %w", r.Subject, err)
	}
	w.n++
	w.size += uint64(k + len(b))
	w.last = r.Subject
	return nil
}

// SetResultCount sets how many subjects a Delta leaves the lane with (the
// base's subjects, minus removals, plus new ones), which the lane checks
// before activating it. Full bundles need not call it.
func (w *Writer) SetResultCount(n uint64) { w.m.ResultCount = n }

// Count is the number of records added so far.
func (w *Writer) Count() uint64 { return w.n }

// Finish signs the manifest with key and writes the whole bundle to dst.
// The Writer is closed afterwards.
func (w *Writer) Finish(dst io.Writer, key ed25519.PrivateKey) (*Manifest, error) {
	defer w.Close()
	if w.done {
		return nil, errors.New("finish bundle: writer finished")
	}
	w.done = true
	if err := w.buf.Flush(); err != nil {
		return nil, fmt.Errorf("finish bundle: spool records: %w", err)
	}
	m := w.m
	m.RecordCount = w.n
	m.RecordsBytes = w.size
	copy(m.RecordsSHA256[:], w.h.Sum(nil))
	if m.Kind == Full {
		m.ResultCount = w.n
	}
	if err := writeEnvelope(dst, &m, key); err != nil {
		return nil, fmt.Errorf("finish bundle: %w", err)
	}
	if _, err := w.tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("finish bundle: %w", err)
	}
	if n, err := io.Copy(dst, w.tmp); err != nil || uint64(n) != w.size {
		return nil, fmt.Errorf("finish bundle: copy records: %d of %d bytes: %w", n, w.size, err)
	}
	return &m, nil
}

// Close discards the spool file. It is idempotent.
func (w *Writer) Close() error {
	w.done = true
	if w.tmp == nil {
		return nil
	}
	name := w.tmp.Name()
	w.tmp.Close()
	w.tmp = nil
	return os.Remove(name)
}

// writeEnvelope checks m, signs it and writes everything in front of the
// records section. It fills m.KeyID and m.ManifestSHA256.
func writeEnvelope(dst io.Writer, m *Manifest, key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("no signing key")
	}
	pb := m.toPB()
	if _, err := manifestFromPB(pb); err != nil {
		return err
	}
	mb, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		return fmt.Errorf("marshal manifest: %w", err)
	}
	m.KeyID = KeyIDOf(key.Public().(ed25519.PublicKey))
	m.ManifestSHA256 = sha256.Sum256(mb)
	sig := ed25519.Sign(key, append([]byte(SignContext), mb...))
	var hdr [headerSize]byte
	copy(hdr[:8], Magic)
	binary.LittleEndian.PutUint32(hdr[8:], EnvelopeVersion)
	copy(hdr[12:20], m.KeyID[:])
	binary.LittleEndian.PutUint32(hdr[20:], uint32(len(mb)))
	for _, b := range [][]byte{hdr[:], mb, sig} {
		if _, err := dst.Write(b); err != nil {
			return fmt.Errorf("write header: %w", err)
		}
	}
	return nil
}

// Seal writes a signed bundle around records, an already encoded records
// section (uvarint length + Record message, repeated), holding count
// records. It checks nothing inside records: it exists for tools and tests
// that must produce bundles the Writer would refuse (a lane must still
// reject them). m's counts and digest are computed here.
func Seal(dst io.Writer, m Manifest, key ed25519.PrivateKey, records []byte, count uint64) (*Manifest, error) {
	if m.Kind == 0 {
		m.Kind = Full
	}
	m.FormatVersion = FormatVersion
	m.RecordCount = count
	m.RecordsBytes = uint64(len(records))
	m.RecordsSHA256 = sha256.Sum256(records)
	if m.Kind == Full {
		m.ResultCount = count
	}
	if err := writeEnvelope(dst, &m, key); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	if _, err := dst.Write(records); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	return &m, nil
}

// AppendRecord appends one length-delimited record to a records section.
func AppendRecord(section, record []byte) []byte {
	section = binary.AppendUvarint(section, uint64(len(record)))
	return append(section, record...)
}
