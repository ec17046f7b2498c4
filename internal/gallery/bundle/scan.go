package bundle

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Scanned is the part of a record a match index needs.
type Scanned struct {
	Subject    string
	ValidFrom  int64 // Unix seconds, 0: unbounded
	ValidUntil int64 // Unix seconds, 0: unbounded
	Templates  int   // how many templates were appended
}

// ScanRecord is the allocation-light DecodeRecord for start-up: it reads
// the subject, validity window and templates of an encoded record,
// appending the templates (dim float32 each) to dst, and skips category
// and attributes. It applies DecodeRecord's template checks.
func ScanRecord(b []byte, dim int, dst []float32) (Scanned, []float32, error) {
	var s Scanned
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return s, dst, fmt.Errorf("%w: record does not parse: %v", ErrCorrupt, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return s, dst, fmt.Errorf("%w: record subject: %v", ErrCorrupt, protowire.ParseError(n))
			}
			s.Subject, b = string(v), b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return s, dst, fmt.Errorf("%w: record template: %v", ErrCorrupt, protowire.ParseError(n))
			}
			b = b[n:]
			if len(v) != 4*dim {
				return s, dst, fmt.Errorf("%w: subject %q template %d: %d bytes, want %d", ErrBadTemplate, s.Subject, s.Templates, len(v), 4*dim)
			}
			var sum float64
			for j := 0; j < dim; j++ {
				x := math.Float32frombits(binary.LittleEndian.Uint32(v[4*j:]))
				f := float64(x)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return s, dst, fmt.Errorf("%w: subject %q template %d: element %d is %v", ErrBadTemplate, s.Subject, s.Templates, j, x)
				}
				sum += f * f
				dst = append(dst, x)
			}
			if sum == 0 {
				return s, dst, fmt.Errorf("%w: subject %q template %d: zero vector", ErrBadTemplate, s.Subject, s.Templates)
			}
			s.Templates++
		case (num == 4 || num == 5) && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return s, dst, fmt.Errorf("%w: record validity: %v", ErrCorrupt, protowire.ParseError(n))
			}
			b = b[n:]
			if num == 4 {
				s.ValidFrom = int64(v)
			} else {
				s.ValidUntil = int64(v)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return s, dst, fmt.Errorf("%w: record field %d: %v", ErrCorrupt, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if err := checkSubject(s.Subject); err != nil {
		return s, dst, err
	}
	if s.Templates == 0 {
		return s, dst, fmt.Errorf("%w: subject %q has no template", ErrBadTemplate, s.Subject)
	}
	return s, dst, nil
}
