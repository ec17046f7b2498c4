package bundle

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/laned/laned/internal/gallery/bundle/gallerypb"
	"github.com/laned/laned/internal/summary"
	"google.golang.org/protobuf/proto"
)

// MarshalRecord encodes r as the protobuf Record message of a bundle. It
// does not validate r; Writer.Add does.
func MarshalRecord(r *Record) ([]byte, error) {
	pb := &gallerypb.Record{
		SubjectId:  r.Subject,
		Category:   r.Category,
		Attributes: r.Attributes,
		Remove:     r.Remove,
	}
	if !r.ValidFrom.IsZero() {
		pb.ValidFromUnix = r.ValidFrom.Unix()
	}
	if !r.ValidUntil.IsZero() {
		pb.ValidUntilUnix = r.ValidUntil.Unix()
	}
	pb.Templates = make([][]byte, len(r.Templates))
	for i, t := range r.Templates {
		b := make([]byte, 4*len(t))
		for j, x := range t {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
		}
		pb.Templates[i] = b
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("marshal record %q: %w", r.Subject, err)
	}
	return b, nil
}

// DecodeRecord parses and checks one record's protobuf bytes for a gallery
// of dim-long templates. kind is the bundle's kind (removals only in deltas).
// Errors wrap ErrCorrupt or ErrBadTemplate.
func DecodeRecord(b []byte, dim int, kind Kind) (*Record, error) {
	var pb gallerypb.Record
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: record does not parse: %v", ErrCorrupt, err)
	}
	return recordFromPB(&pb, dim, kind)
}

func recordFromPB(pb *gallerypb.Record, dim int, kind Kind) (*Record, error) {
	s := pb.GetSubjectId()
	if err := checkSubject(s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	r := &Record{
		Subject:    s,
		Category:   pb.GetCategory(),
		Attributes: pb.GetAttributes(),
		Remove:     pb.GetRemove(),
	}
	if r.Remove {
		if kind != Delta {
			return nil, fmt.Errorf("%w: subject %q: removal in a %s bundle", ErrCorrupt, s, kind)
		}
		if len(pb.GetTemplates()) != 0 {
			return nil, fmt.Errorf("%w: subject %q: removal carries templates", ErrCorrupt, s)
		}
		return r, nil
	}
	if v := pb.GetValidFromUnix(); v != 0 {
		r.ValidFrom = time.Unix(v, 0).UTC()
	}
	if v := pb.GetValidUntilUnix(); v != 0 {
		r.ValidUntil = time.Unix(v, 0).UTC()
	}
	if !r.ValidFrom.IsZero() && !r.ValidUntil.IsZero() && !r.ValidUntil.After(r.ValidFrom) {
		return nil, fmt.Errorf("%w: subject %q: valid until %v is not after valid from %v", ErrCorrupt, s, r.ValidUntil, r.ValidFrom)
	}
	if len(pb.GetTemplates()) == 0 {
		return nil, fmt.Errorf("%w: subject %q has no template", ErrBadTemplate, s)
	}
	r.Templates = make([][]float32, len(pb.GetTemplates()))
	for i, tb := range pb.GetTemplates() {
		t, err := decodeTemplate(tb, dim)
		if err != nil {
			return nil, fmt.Errorf("%w: subject %q template %d: %v", ErrBadTemplate, s, i, err)
		}
		r.Templates[i] = t
	}
	return r, nil
}

// checkSubject applies the one subject-id rule of bundles and summaries
// (summary.ValidSubjectID), so a lane never holds a subject whose match it
// cannot report.
func checkSubject(s string) error {
	if s == "" || len(s) > maxSubjectLen {
		return fmt.Errorf("subject id of %d bytes, want %s", len(s), summary.SubjectIDRule)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("subject id %q is not UTF-8", s)
	}
	if !summary.ValidSubjectID(s) {
		return fmt.Errorf("subject id %q: want %s", s, summary.SubjectIDRule)
	}
	return nil
}

// checkWindow applies the validity-window rule of DecodeRecord.
func checkWindow(r *Record) error {
	if !r.ValidFrom.IsZero() && !r.ValidUntil.IsZero() && r.ValidUntil.Unix() <= r.ValidFrom.Unix() {
		return fmt.Errorf("subject %q: valid until %s is not after valid from %s", r.Subject,
			r.ValidUntil.UTC().Format(time.RFC3339), r.ValidFrom.UTC().Format(time.RFC3339))
	}
	return nil
}

// decodeTemplate converts dim little-endian float32s and refuses NaN, Inf
// and all-zero vectors.
func decodeTemplate(b []byte, dim int) ([]float32, error) {
	if len(b) != 4*dim {
		return nil, fmt.Errorf("%d bytes, want %d (%d float32)", len(b), 4*dim, dim)
	}
	t := make([]float32, dim)
	var sum float64
	for j := range t {
		x := math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("element %d is %v", j, x)
		}
		sum += f * f
		t[j] = x
	}
	if sum == 0 {
		return nil, fmt.Errorf("zero vector")
	}
	return t, nil
}

// checkTemplate applies decodeTemplate's rules to a vector being written.
func checkTemplate(t []float32, dim int) error {
	if len(t) != dim {
		return fmt.Errorf("%d values, want %d", len(t), dim)
	}
	var sum float64
	for j, x := range t {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("element %d is %v", j, x)
		}
		sum += f * f
	}
	if sum == 0 {
		return fmt.Errorf("zero vector")
	}
	return nil
}
