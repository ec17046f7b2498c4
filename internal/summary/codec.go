package summary

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
)

// payload is implemented by every payload type.
type payload interface {
	kind() Kind
	validate(stamped bool) error
}

func (t *Transaction) kind() Kind            { return KindTransaction }
func (t *Transaction) validate(s bool) error { return t.Validate(s) }
func (s *Status) kind() Kind                 { return KindStatus }
func (s *Status) validate(bool) error        { return s.Validate() }
func (h *Health) kind() Kind                 { return KindHealth }
func (h *Health) validate(s bool) error      { return h.Validate(s) }
func (ev *Event) kind() Kind                 { return KindEvent }
func (ev *Event) validate(s bool) error      { return ev.Validate(s) }

// Marshal validates v (a *Transaction, *Status, *Health or *Event) and
// encodes it, times in UTC. message_id and sequence may be absent (the
// uplink stamps them); when present they must be valid. The result is
// checked against the JSON Schema of its kind too.
func Marshal(v any) ([]byte, error) {
	p, ok := v.(payload)
	if !ok || reflect.ValueOf(v).IsNil() {
		return nil, fmt.Errorf("summary: marshal: unsupported type %T", v)
	}
	p = inUTC(reflect.ValueOf(p)).Interface().(payload)
	if err := p.validate(false); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("summary: marshal %s: %w", p.kind(), err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("summary: marshal %s: %d bytes, max %d", p.kind(), len(b), MaxSize)
	}
	h := reflect.ValueOf(p).Elem().FieldByName("Header")
	stamped := h.IsValid() && h.FieldByName("MessageID").String() != ""
	if err := schemaCheck(b, stamped); err != nil {
		return nil, fmt.Errorf("summary: marshal: %w", err)
	}
	return b, nil
}

// ErrTooLarge is returned for input over MaxSize.
var ErrTooLarge = errors.New("payload too large")

// decode reads exactly one JSON object into v, rejecting unknown fields,
// trailing data and oversize input, then validates it, and checks b
// against the JSON Schema of its kind, so the decoder accepts nothing the
// schema refuses (the Go decoder alone matches keys case-insensitively,
// takes null for absent and accepts any time zone).
func decode(b []byte, p payload, stamped bool) error {
	if len(b) > MaxSize {
		return fmt.Errorf("summary: decode %s: %w (%d bytes, max %d)", p.kind(), ErrTooLarge, len(b), MaxSize)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(p); err != nil {
		return fmt.Errorf("summary: decode %s: %w", p.kind(), err)
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("summary: decode %s: trailing data after the object", p.kind())
	}
	if err := p.validate(stamped); err != nil {
		return err
	}
	return schemaCheck(b, stamped)
}

// Unmarshal decodes a payload of any kind, as published (stamped: it must
// carry message_id and sequence, except a status). It returns a
// *Transaction, *Status, *Health or *Event.
func Unmarshal(b []byte) (any, error) { return unmarshal(b, true) }

// UnmarshalUnstamped is Unmarshal for a payload as the lane commits it to
// the outbox, before the uplink stamps it.
func UnmarshalUnstamped(b []byte) (any, error) { return unmarshal(b, false) }

func unmarshal(b []byte, stamped bool) (any, error) {
	k, err := PeekKind(b)
	if err != nil {
		return nil, err
	}
	var p payload
	switch k {
	case KindTransaction:
		p = new(Transaction)
	case KindStatus:
		p = new(Status)
	case KindHealth:
		p = new(Health)
	case KindEvent:
		p = new(Event)
	}
	if err := decode(b, p, stamped); err != nil {
		return nil, err
	}
	return p, nil
}

// PeekKind returns the kind field of a payload without validating it.
func PeekKind(b []byte) (Kind, error) {
	if len(b) > MaxSize {
		return "", fmt.Errorf("summary: %w (%d bytes, max %d)", ErrTooLarge, len(b), MaxSize)
	}
	var h struct {
		Kind Kind `json:"kind"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("summary: read kind: %w", err)
	}
	for _, k := range Kinds() {
		if h.Kind == k {
			return k, nil
		}
	}
	return "", fmt.Errorf("summary: unknown kind %q", clip(string(h.Kind)))
}

// Stamp returns payload (an encoded, unstamped object) with message_id and
// sequence added as its first fields. The result depends only on its
// inputs, so every re-send of a message is byte-identical. It refuses a
// payload that is not one JSON object or already has a top-level
// message_id or sequence key (decoded, in any case); the words may appear
// anywhere else, such as in an event's message or details.
func Stamp(payload []byte, id string, seq uint64) ([]byte, error) {
	p := bytes.TrimSpace(payload)
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, errors.New("summary: stamp: payload is not a JSON object")
	}
	if !reMsgID.MatchString(id) {
		return nil, fmt.Errorf("summary: stamp: message id %q is not a lower-case UUIDv7", clip(id))
	}
	if seq == 0 {
		return nil, errors.New("summary: stamp: sequence 0")
	}
	keys, err := topLevelKeys(p)
	if err != nil {
		return nil, fmt.Errorf("summary: stamp: payload is not a JSON object: %w", err)
	}
	for _, k := range keys {
		if stampedKey(k) {
			return nil, fmt.Errorf("summary: stamp: payload already has %q", clip(k))
		}
	}
	out := make([]byte, 0, len(p)+80)
	out = append(out, `{"message_id":"`...)
	out = append(out, id...)
	out = append(out, `","sequence":`...)
	out = strconv.AppendUint(out, seq, 10)
	if rest := bytes.TrimSpace(p[1:]); len(rest) > 1 { // not "}"
		out = append(out, ',')
	}
	out = append(out, p[1:]...)
	return out, nil
}
