package bundle

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/laned/laned/internal/gallery/bundle/gallerypb"
	"google.golang.org/protobuf/proto"
)

// VerifyOptions is what a lane checks a bundle against.
type VerifyOptions struct {
	Keys    KeyRing   // trusted signing keys
	ModelID string    // the loaded recogniser's model id (embed.ModelID)
	Dim     int       // its template length (embed.Dim)
	Now     time.Time // for the expiry check
}

// Reader streams the records of a bundle whose signature and manifest have
// been checked.
type Reader struct {
	src      *bufio.Reader
	m        *Manifest
	h        hash.Hash
	n        uint64
	consumed uint64
	last     string
	raw      []byte
	err      error
}

// ReadHeader reads the envelope and the manifest and checks the signature
// with keys, before parsing the manifest. It returns the manifest even when
// the signature is bad or the key unknown (with an error wrapping
// ErrUnknownKey or ErrBadSignature) so that inspect can show what a refused
// bundle claims; nothing else may use such a manifest.
func ReadHeader(src io.Reader, keys KeyRing) (*Manifest, error) {
	m, _, err := readHeader(src, keys)
	return m, err
}

func readHeader(src io.Reader, keys KeyRing) (*Manifest, int, error) {
	var hdr [headerSize]byte
	if n, err := io.ReadFull(src, hdr[:]); err != nil {
		if n >= len(Magic) && string(hdr[:len(Magic)]) == Magic {
			return nil, n, fmt.Errorf("%w: %d-byte header", ErrTruncated, n)
		}
		return nil, n, fmt.Errorf("%w: %d bytes, no header", ErrFormat, n)
	}
	if string(hdr[:8]) != Magic {
		return nil, headerSize, fmt.Errorf("%w: bad magic %q", ErrFormat, hdr[:8])
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != EnvelopeVersion {
		return nil, headerSize, fmt.Errorf("%w: envelope version %d, this lane reads %d", ErrFormat, v, EnvelopeVersion)
	}
	var id KeyID
	copy(id[:], hdr[12:20])
	ml := binary.LittleEndian.Uint32(hdr[20:])
	if ml == 0 || ml > maxManifest {
		return nil, headerSize, fmt.Errorf("%w: manifest length %d, want 1..%d", ErrCorrupt, ml, maxManifest)
	}
	body := make([]byte, int(ml)+signatureSize)
	if n, err := io.ReadFull(src, body); err != nil {
		return nil, headerSize + n, fmt.Errorf("%w: manifest and signature: %d of %d bytes", ErrTruncated, n, len(body))
	}
	mb, sig := body[:ml], body[ml:]
	pub, known := keys[id]
	var sigErr error
	switch {
	case !known:
		sigErr = fmt.Errorf("%w: key id %s", ErrUnknownKey, id)
	case !ed25519.Verify(pub, append([]byte(SignContext), mb...), sig):
		sigErr = fmt.Errorf("%w: manifest does not verify with key %s", ErrBadSignature, id)
	}
	var pb gallerypb.Manifest
	if err := proto.Unmarshal(mb, &pb); err != nil {
		return nil, headerSize + len(body), errors.Join(sigErr, fmt.Errorf("%w: manifest does not parse: %v", ErrCorrupt, err))
	}
	m, err := manifestFromPB(&pb)
	if err != nil {
		return nil, headerSize + len(body), errors.Join(sigErr, err)
	}
	m.KeyID = id
	m.ManifestSHA256 = sha256.Sum256(mb)
	return m, headerSize + len(body), sigErr
}

// NewReader checks the envelope, the signature (before anything signed is
// parsed), the manifest, the recogniser and the expiry, and returns a Reader
// positioned at the first record.
func NewReader(src io.Reader, opts VerifyOptions) (*Reader, error) {
	if len(opts.Keys) == 0 {
		return nil, fmt.Errorf("read bundle: %w: no trusted keys configured", ErrUnknownKey)
	}
	br := bufio.NewReaderSize(src, 1<<20)
	m, err := readVerified(br, opts.Keys)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if m.ModelID != opts.ModelID || m.Dim != opts.Dim {
		return nil, fmt.Errorf("read bundle version %d: %w: made for %q (%d-D), lane runs %q (%d-D)", m.Version, ErrModel, m.ModelID, m.Dim, opts.ModelID, opts.Dim)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !now.Before(m.Expires) {
		return nil, fmt.Errorf("read bundle version %d: %w at %s", m.Version, ErrExpired, m.Expires.Format(time.RFC3339))
	}
	return &Reader{src: br, m: m, h: sha256.New()}, nil
}

// readVerified is readHeader that refuses to parse an unverified manifest.
func readVerified(src io.Reader, keys KeyRing) (*Manifest, error) {
	m, _, err := readHeader(src, keys)
	if errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrBadSignature) {
		// Report only the signature problem: an unverified manifest's
		// parse errors are an attacker's words.
		if errors.Is(err, ErrUnknownKey) {
			return nil, firstOf(err, ErrUnknownKey)
		}
		return nil, firstOf(err, ErrBadSignature)
	}
	return m, err
}

func firstOf(err, target error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if errors.Is(e, target) {
				return e
			}
		}
	}
	return err
}

// Manifest is the verified manifest.
func (r *Reader) Manifest() *Manifest { return r.m }

// Raw is the encoded Record message last returned by Next, valid until the
// next call.
func (r *Reader) Raw() []byte { return r.raw }

// Next returns the next record. After the last one it checks the record
// count, the section length and the digest, and returns io.EOF only if all
// hold. Any other error is final.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.next()
	if err != nil {
		if err != io.EOF {
			err = fmt.Errorf("read bundle version %d: %w", r.m.Version, err)
		}
		r.err = err
		r.raw = nil
	}
	return rec, err
}

func (r *Reader) next() (*Record, error) {
	if r.n == r.m.RecordCount {
		if r.consumed != r.m.RecordsBytes {
			return nil, fmt.Errorf("%w: %d records in %d bytes, manifest says %d bytes", ErrCorrupt, r.n, r.consumed, r.m.RecordsBytes)
		}
		if !bytes.Equal(r.h.Sum(nil), r.m.RecordsSHA256[:]) {
			return nil, fmt.Errorf("%w: records digest does not match the manifest", ErrCorrupt)
		}
		if _, err := r.src.ReadByte(); err != io.EOF {
			return nil, fmt.Errorf("%w: data after the last record", ErrCorrupt)
		}
		return nil, io.EOF
	}
	l, err := r.readLen()
	if err != nil {
		return nil, err
	}
	if l == 0 || l > maxRecordBytes || r.consumed+l > r.m.RecordsBytes {
		return nil, fmt.Errorf("%w: record %d claims %d bytes", ErrCorrupt, r.n, l)
	}
	if uint64(cap(r.raw)) < l {
		r.raw = make([]byte, l)
	}
	r.raw = r.raw[:l]
	if k, err := io.ReadFull(r.src, r.raw); err != nil {
		return nil, fmt.Errorf("%w: record %d of %d: %d of %d bytes", ErrTruncated, r.n+1, r.m.RecordCount, k, l)
	}
	r.h.Write(r.raw)
	r.consumed += l
	r.n++
	rec, err := DecodeRecord(r.raw, r.m.Dim, r.m.Kind)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", r.n, err)
	}
	if r.n > 1 && rec.Subject <= r.last {
		if rec.Subject == r.last {
			return nil, fmt.Errorf("record %d: %w %q", r.n, ErrDuplicate, rec.Subject)
		}
		return nil, fmt.Errorf("%w: record %d: subject %q after %q (records must be sorted)", ErrCorrupt, r.n, rec.Subject, r.last)
	}
	r.last = rec.Subject
	return rec, nil
}

func (r *Reader) readLen() (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	var x uint64
	for i := 0; i < len(buf); i++ {
		b, err := r.src.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: record %d of %d missing", ErrTruncated, r.n+1, r.m.RecordCount)
		}
		buf[i] = b
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			r.h.Write(buf[:i+1])
			r.consumed += uint64(i + 1)
			return x, nil
		}
	}
	return 0, fmt.Errorf("%w: record %d: bad length prefix", ErrCorrupt, r.n+1)
}

// Verify reads a whole bundle and checks everything NewReader and Next
// check. It returns the manifest of a bundle that a lane would accept,
// apart from the lane's own state (rollback, delta base).
func Verify(src io.Reader, opts VerifyOptions) (*Manifest, error) {
	r, err := NewReader(src, opts)
	if err != nil {
		return nil, err
	}
	for {
		if _, err := r.Next(); err == io.EOF {
			return r.m, nil
		} else if err != nil {
			return nil, err
		}
	}
}
