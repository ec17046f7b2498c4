package vision

import (
	"strings"
	"testing"
)

func TestParseEngine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Engine
		err  string
	}{
		{"", EngineOneDNN, ""},
		{"onednn", EngineOneDNN, ""},
		{"opencv", EngineOpenCV, ""},
		{"OpenCV", "", `unknown inference engine "OpenCV"`},
		{"cuda", "", `want "onednn" or "opencv"`},
	} {
		got, err := ParseEngine(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEngine(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseEngine(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
