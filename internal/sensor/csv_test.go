package sensor_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/sensor"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestCSVRoundTrip(t *testing.T) {
	in := []sensor.Transition{
		{Input: "arrival", Active: true, At: t0.Add(1200 * time.Millisecond)},
		{Input: "departure", Active: true, At: t0.Add(2400 * time.Millisecond)},
		{Input: "arrival", Active: false, At: t0.Add(3100 * time.Millisecond)},
		{Input: "departure", Active: false, At: t0.Add(4005 * time.Millisecond)},
	}
	var buf bytes.Buffer
	w, err := sensor.NewCSVWriter(&buf, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range in {
		if err := w.Write(tr); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	want := "t_ms,input,level\n1200,arrival,1\n2400,departure,1\n3100,arrival,0\n4005,departure,0\n"
	if buf.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", buf.String(), want)
	}
	got, err := sensor.ParseCSV(&buf, t0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if got[i] != in[i] {
			t.Errorf("line %d: %v, want %v", i+2, got[i], in[i])
		}
	}
}

func TestParseCSVStrict(t *testing.T) {
	tests := map[string]string{
		"":                                              "empty file",
		"t_ms,level,input\n":                            "line 1: header",
		"t_ms,input,level\n12,arrival\n":                "line 2: 2 fields",
		"t_ms,input,level\n12,arrival,1,x\n":            "line 2: 4 fields",
		"t_ms,input,level\n-5,arrival,1\n":              `t_ms "-5"`,
		"t_ms,input,level\n012,arrival,1\n":             `t_ms "012"`,
		"t_ms,input,level\n 12,arrival,1\n":             `t_ms " 12"`,
		"t_ms,input,level\n1.5,arrival,1\n":             `t_ms "1.5"`,
		"t_ms,input,level\n99999999999,a,1\n":           "out of range",
		"t_ms,input,level\n12,Arrival,1\n":              `input "Arrival"`,
		"t_ms,input,level\n12,arrival,2\n":              `level "2"`,
		"t_ms,input,level\n12,arrival,1\n\n":            "line 3: 1 fields",
		"t_ms,input,level\n20,a,1\n10,a,0\n":            "line 3: t_ms 10 before",
		"t_ms,input,level\n" + strings.Repeat("x", 300): "line 2",
	}
	for in, want := range tests {
		_, err := sensor.ParseCSV(strings.NewReader(in), t0)
		if err == nil || !errors.Is(err, sensor.ErrCSV) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCSV(%.40q) = %v, want error containing %q", in, err, want)
		}
	}
	// CRLF endings and a missing final newline are accepted.
	got, err := sensor.ParseCSV(strings.NewReader("t_ms,input,level\r\n0,curtain,1\r\n7,curtain,0"), t0)
	if err != nil || len(got) != 2 || got[1].At != t0.Add(7*time.Millisecond) {
		t.Errorf("CRLF: %v, %v", got, err)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("t_ms,input,level\n0,arrival,1\n10,arrival,0\n")
	f.Add("t_ms,input,level\r\n5,a-b_c,1\r\n")
	f.Add("t_ms,input,level\n")
	f.Fuzz(func(t *testing.T, s string) {
		trs, err := sensor.ParseCSV(strings.NewReader(s), t0)
		if err != nil {
			if !errors.Is(err, sensor.ErrCSV) {
				t.Fatalf("error not wrapping ErrCSV: %v", err)
			}
			return
		}
		// Whatever parses writes back to text that parses to the same.
		var buf bytes.Buffer
		w, _ := sensor.NewCSVWriter(&buf, t0)
		for _, tr := range trs {
			if err := w.Write(tr); err != nil {
				t.Fatalf("write %v: %v", tr, err)
			}
		}
		w.Flush()
		again, err := sensor.ParseCSV(&buf, t0)
		if err != nil || len(again) != len(trs) {
			t.Fatalf("re-parse: %v (%d vs %d)", err, len(again), len(trs))
		}
		for i := range trs {
			if again[i] != trs[i] {
				t.Fatalf("line %d: %v became %v", i+2, trs[i], again[i])
			}
		}
	})
}

func FuzzParseBoard(f *testing.F) {
	f.Add([]byte("name: b\ninputs:\n  - {name: arrival, role: arrival, chip: gpiochip0, line: 17, active: low, pull: up, debounce: 30ms}\n"))
	f.Add([]byte("name: b\noutputs:\n  - {name: s, role: strobe, chip: c, line: 1}\n"))
	f.Add([]byte("name: [b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := sensor.ParseBoard("fuzz.yaml", "b", data)
		if err != nil {
			return
		}
		// What parses is a valid board: merged into an empty config it
		// validates.
		if err := (sensor.Config{}).WithBoard(b).WithDefaults().Validate(); err != nil {
			t.Fatalf("board accepted but its config is invalid: %v", err)
		}
	})
}
