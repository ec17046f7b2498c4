package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/laned/laned/internal/gallery/bundle/gallerypb"
)

// Layout constants; see docs/gallery-bundle.md.
const (
	// Magic opens every bundle file.
	Magic = "LGALLERY"
	// EnvelopeVersion is the version of the byte layout around the manifest.
	EnvelopeVersion = 1
	// FormatVersion is the manifest's format_version this code reads.
	FormatVersion = 1
	// SignContext is prepended to the manifest bytes before signing, so a
	// gallery signature can never be mistaken for another signed message.
	SignContext = "laned-gallery-manifest-v1\x00"

	headerSize     = 8 + 4 + 8 + 4 // magic, envelope version, key id, manifest length
	signatureSize  = 64
	maxManifest    = 64 << 10
	maxRecordBytes = 16 << 20
	maxSubjectLen  = 256
	maxDim         = 4096
)

// Kind says whether a bundle is a whole gallery or a patch.
type Kind int

const (
	Full  Kind = Kind(gallerypb.Kind_KIND_FULL)
	Delta Kind = Kind(gallerypb.Kind_KIND_DELTA)
)

func (k Kind) String() string {
	switch k {
	case Full:
		return "full"
	case Delta:
		return "delta"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Errors a bundle is refused with. Every error from this package that
// refuses a bundle wraps exactly one of them, with detail.
var (
	ErrFormat       = errors.New("not a gallery bundle")
	ErrUnknownKey   = errors.New("signed by an unknown key")
	ErrBadSignature = errors.New("bad signature")
	ErrTruncated    = errors.New("truncated bundle")
	ErrCorrupt      = errors.New("corrupt bundle")
	ErrExpired      = errors.New("bundle expired")
	ErrModel        = errors.New("bundle made for another recogniser")
	ErrDuplicate    = errors.New("duplicate subject id")
	ErrBadTemplate  = errors.New("bad template")
)

// KeyID names a signing key: the first 8 bytes of the SHA-256 of the
// Ed25519 public key.
type KeyID [8]byte

func (k KeyID) String() string { return hex.EncodeToString(k[:]) }

// KeyIDOf returns the KeyID of an Ed25519 public key.
func KeyIDOf(pub []byte) KeyID {
	s := sha256.Sum256(pub)
	var id KeyID
	copy(id[:], s[:8])
	return id
}

// Manifest describes a bundle: what the signature vouches for.
type Manifest struct {
	FormatVersion  uint32
	Version        uint64 // gallery version, strictly increasing
	Kind           Kind
	BaseVersion    uint64 // Delta only
	Created        time.Time
	Expires        time.Time
	ModelID        string
	Dim            int
	RecordCount    uint64
	RecordsBytes   uint64
	RecordsSHA256  [32]byte
	ResultCount    uint64 // subjects in the gallery once applied
	Issuer         string
	KeyID          KeyID    // the key that signed it (set by the reader)
	ManifestSHA256 [32]byte // of the signed manifest bytes (set by the reader)
}

func manifestFromPB(m *gallerypb.Manifest) (*Manifest, error) {
	if m.GetFormatVersion() != FormatVersion {
		return nil, fmt.Errorf("%w: manifest format version %d, this lane reads %d", ErrFormat, m.GetFormatVersion(), FormatVersion)
	}
	if m.GetGalleryVersion() == 0 {
		return nil, fmt.Errorf("%w: gallery version 0", ErrCorrupt)
	}
	k := Kind(m.GetKind())
	if k != Full && k != Delta {
		return nil, fmt.Errorf("%w: unknown bundle kind %d", ErrCorrupt, m.GetKind())
	}
	if k == Delta && (m.GetBaseVersion() == 0 || m.GetBaseVersion() >= m.GetGalleryVersion()) {
		return nil, fmt.Errorf("%w: delta version %d against base %d", ErrCorrupt, m.GetGalleryVersion(), m.GetBaseVersion())
	}
	if k == Full && m.GetBaseVersion() != 0 {
		return nil, fmt.Errorf("%w: full bundle names base version %d", ErrCorrupt, m.GetBaseVersion())
	}
	if m.GetDim() == 0 || m.GetDim() > maxDim {
		return nil, fmt.Errorf("%w: template dimension %d", ErrCorrupt, m.GetDim())
	}
	if len(m.GetRecordsSha256()) != sha256.Size {
		return nil, fmt.Errorf("%w: records digest is %d bytes, want 32", ErrCorrupt, len(m.GetRecordsSha256()))
	}
	if k == Full && m.GetResultCount() != m.GetRecordCount() {
		return nil, fmt.Errorf("%w: full bundle with %d records says it results in %d", ErrCorrupt, m.GetRecordCount(), m.GetResultCount())
	}
	if m.GetExpiresUnix() <= m.GetCreatedUnix() {
		return nil, fmt.Errorf("%w: expires (%d) not after created (%d)", ErrCorrupt, m.GetExpiresUnix(), m.GetCreatedUnix())
	}
	out := &Manifest{
		FormatVersion: m.GetFormatVersion(),
		Version:       m.GetGalleryVersion(),
		Kind:          k,
		BaseVersion:   m.GetBaseVersion(),
		Created:       time.Unix(m.GetCreatedUnix(), 0).UTC(),
		Expires:       time.Unix(m.GetExpiresUnix(), 0).UTC(),
		ModelID:       m.GetModelId(),
		Dim:           int(m.GetDim()),
		RecordCount:   m.GetRecordCount(),
		RecordsBytes:  m.GetRecordsBytes(),
		ResultCount:   m.GetResultCount(),
		Issuer:        m.GetIssuer(),
	}
	copy(out.RecordsSHA256[:], m.GetRecordsSha256())
	return out, nil
}

func (m *Manifest) toPB() *gallerypb.Manifest {
	return &gallerypb.Manifest{
		FormatVersion:  FormatVersion,
		GalleryVersion: m.Version,
		Kind:           gallerypb.Kind(m.Kind),
		BaseVersion:    m.BaseVersion,
		CreatedUnix:    m.Created.Unix(),
		ExpiresUnix:    m.Expires.Unix(),
		ModelId:        m.ModelID,
		Dim:            uint32(m.Dim),
		RecordCount:    m.RecordCount,
		RecordsBytes:   m.RecordsBytes,
		RecordsSha256:  m.RecordsSHA256[:],
		ResultCount:    m.ResultCount,
		Issuer:         m.Issuer,
	}
}

// Record is one subject of a gallery.
type Record struct {
	Subject    string
	Templates  [][]float32 // each of the manifest's Dim; none when Remove
	Category   string      // e.g. "expected-traveller", "watch"
	ValidFrom  time.Time   // zero: no lower bound
	ValidUntil time.Time   // zero: no upper bound
	Attributes map[string]string
	Remove     bool // Delta only: delete Subject
}
