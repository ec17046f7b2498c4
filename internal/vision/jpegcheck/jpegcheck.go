package jpegcheck

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every refusal.
var ErrCorrupt = errors.New("corrupt MJPEG frame")

// MaxSide bounds either side a frame header may declare.
const MaxSide = 16384

// Info is what Check learns from the markers.
type Info struct {
	Width, Height int
	Components    int
	// HasDHT reports whether the frame carried its own Huffman tables.
	HasDHT bool
	// SOS is the offset of the first start-of-scan marker, where Prepare
	// inserts the standard tables.
	SOS int
	// End is the offset just past the EOI marker (trailing padding after
	// it is ignored).
	End int
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// Check walks the marker segments of data: SOI first, every segment
// length inside the buffer, exactly one baseline or progressive frame
// header with a sane size, a scan, entropy-coded data without stray
// markers, restart markers in sequence, and an EOI. It reads no pixels.
func Check(data []byte) (Info, error) {
	var in Info
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return in, corrupt("no SOI marker (%d bytes)", len(data))
	}
	i := 2
	sawSOF, sawSOS := false, false
	for {
		// Skip fill bytes before a marker.
		if i >= len(data) {
			return in, corrupt("truncated at %d of %d bytes, no EOI", i, len(data))
		}
		if data[i] != 0xFF {
			return in, corrupt("byte 0x%02x at %d where a marker belongs", data[i], i)
		}
		for i < len(data) && data[i] == 0xFF {
			i++
		}
		if i >= len(data) {
			return in, corrupt("truncated in a marker, no EOI")
		}
		m := data[i]
		i++
		switch {
		case m == 0xD9: // EOI
			if !sawSOS {
				return in, corrupt("EOI before any scan")
			}
			in.End = i
			return in, nil
		case m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			return in, corrupt("marker 0x%02x out of place at %d", m, i-1)
		}
		if i+2 > len(data) {
			return in, corrupt("truncated segment 0x%02x length", m)
		}
		n := int(data[i])<<8 | int(data[i+1])
		if n < 2 || i+n > len(data) {
			return in, corrupt("segment 0x%02x declares %d bytes, %d left", m, n, len(data)-i)
		}
		seg := data[i+2 : i+n]
		switch {
		case m == 0xC4:
			in.HasDHT = true
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if m != 0xC0 && m != 0xC1 && m != 0xC2 {
				return in, corrupt("unsupported frame type SOF%d", m-0xC0)
			}
			if sawSOF {
				return in, corrupt("second frame header")
			}
			sawSOF = true
			if len(seg) < 6 {
				return in, corrupt("short frame header")
			}
			if seg[0] != 8 {
				return in, corrupt("%d-bit samples", seg[0])
			}
			in.Height = int(seg[1])<<8 | int(seg[2])
			in.Width = int(seg[3])<<8 | int(seg[4])
			in.Components = int(seg[5])
			if in.Width == 0 || in.Height == 0 || in.Width > MaxSide || in.Height > MaxSide {
				return in, corrupt("frame header declares %dx%d", in.Width, in.Height)
			}
			if in.Components != 1 && in.Components != 3 {
				return in, corrupt("%d components", in.Components)
			}
			if len(seg) != 6+3*in.Components {
				return in, corrupt("frame header of %d bytes for %d components", len(seg), in.Components)
			}
		case m == 0xDA:
			if !sawSOF {
				return in, corrupt("scan before frame header")
			}
			if len(seg) < 1 || int(seg[0]) < 1 || int(seg[0]) > 4 || len(seg) != 4+2*int(seg[0]) {
				return in, corrupt("malformed scan header")
			}
			if !sawSOS {
				in.SOS = i - 2
			}
			sawSOS = true
			j, err := skipEntropy(data, i+n)
			if err != nil {
				return in, err
			}
			i = j
			continue
		}
		i += n
	}
}

// skipEntropy returns the offset of the marker that ends the
// entropy-coded segment starting at i.
func skipEntropy(data []byte, i int) (int, error) {
	next := 0
	for i < len(data) {
		if data[i] != 0xFF {
			i++
			continue
		}
		if i+1 >= len(data) {
			break
		}
		b := data[i+1]
		switch {
		case b == 0x00: // stuffed 0xFF
			i += 2
		case b >= 0xD0 && b <= 0xD7:
			if int(b-0xD0) != next {
				return 0, corrupt("restart marker RST%d where RST%d belongs at %d", b-0xD0, next, i)
			}
			next = (next + 1) & 7
			i += 2
		case b == 0xFF: // fill
			i++
		case b == 0xD9 || b == 0xDA || b == 0xC4 || b == 0xDB || b == 0xDD || (b >= 0xE0 && b <= 0xEF) || b == 0xFE:
			return i, nil
		default:
			return 0, corrupt("stray marker 0x%02x in scan data at %d", b, i)
		}
	}
	return 0, corrupt("scan data truncated at %d bytes, no EOI", len(data))
}

// Prepare checks data and returns a stream any baseline decoder accepts:
// data itself when it carries Huffman tables, otherwise a copy with the
// standard tables inserted before the first scan, built in scratch (grown
// as needed and returned for reuse, so steady-state capture allocates
// nothing).
func Prepare(data, scratch []byte) (out []byte, info Info, grown []byte, err error) {
	info, err = Check(data)
	if err != nil {
		return nil, info, scratch, err
	}
	if info.HasDHT {
		return data[:info.End], info, scratch, nil
	}
	need := info.End + len(standardDHT)
	if cap(scratch) < need {
		scratch = make([]byte, 0, need+need/4)
	}
	out = append(scratch[:0], data[:info.SOS]...)
	out = append(out, standardDHT...)
	out = append(out, data[info.SOS:info.End]...)
	return out, info, out, nil
}

// StripDHT returns a copy of a valid JPEG without its DHT segments, as a
// UVC camera sends it; tests use it to make such frames.
func StripDHT(data []byte) ([]byte, error) {
	info, err := Check(data)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), data[:2]...)
	i := 2
	for i < info.SOS {
		for data[i] == 0xFF && data[i+1] == 0xFF {
			i++
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if data[i+1] != 0xC4 {
			out = append(out, data[i:i+2+n]...)
		}
		i += 2 + n
	}
	return append(out, data[info.SOS:info.End]...), nil
}
