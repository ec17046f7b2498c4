package summary

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// placeholderID and placeholderSeq stamp an unstamped payload for a
// schema check: the schemas describe payloads as published.
const (
	placeholderID  = "00000000-0000-7000-8000-000000000000"
	placeholderSeq = 1
)

// CheckUnstamped is the check the send path runs before a payload enters
// the outbox: b must be one JSON object of kind want, as the lane commits
// it (without message_id and sequence), accepted both by the strict
// decoder and by the JSON Schema of its kind (checked as it will be
// published, with a placeholder stamp).
func CheckUnstamped(want Kind, b []byte) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	if k != want {
		return fmt.Errorf("summary: payload is a %s, want a %s", k, want)
	}
	_, err = UnmarshalUnstamped(b)
	return err
}

// schemaCheck validates b, stamped or not, against the schema of its kind.
func schemaCheck(b []byte, stamped bool) error {
	if !stamped {
		k, err := PeekKind(b)
		if err != nil {
			return err
		}
		if k != KindStatus { // a status is never stamped
			if b, err = Stamp(b, placeholderID, placeholderSeq); err != nil {
				return err
			}
		}
	}
	return ValidateJSON(b)
}

// topLevelKeys returns the keys of the single JSON object b, in order,
// decoded (escapes resolved). It fails unless b is exactly one object.
func topLevelKeys(b []byte) ([]string, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v is not a string", tok)
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return nil, err
		}
	}
	if _, err := d.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the object")
	}
	return keys, nil
}

// stampedKey reports whether k would land in message_id or sequence: the
// Go decoder matches field names case-insensitively.
func stampedKey(k string) bool {
	return strings.EqualFold(k, "message_id") || strings.EqualFold(k, "sequence")
}

var timeType = reflect.TypeFor[time.Time]()

// inUTC returns a deep copy of v with every time.Time converted to UTC, so
// Marshal publishes UTC times whatever zone the caller built them in,
// including fields added later, without changing the caller's value.
func inUTC(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(inUTC(v.Elem()))
		return n
	case reflect.Struct:
		if v.Type() == timeType {
			return reflect.ValueOf(v.Interface().(time.Time).UTC())
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		for i := range n.NumField() {
			if f := n.Field(i); f.CanSet() {
				f.Set(inUTC(v.Field(i)))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(inUTC(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(it.Key(), inUTC(it.Value()))
		}
		return n
	}
	return v
}

// SubjectIDRule describes the one rule for subject ids, shared by gallery
// bundles and summaries (so every subject a lane can match, a summary can
// carry): 1 to 64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit.
const SubjectIDRule = "1 to 64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit"

// ValidSubjectID reports whether s follows SubjectIDRule.
func ValidSubjectID(s string) bool { return reID.MatchString(s) }
