package frame

import "testing"

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Frame
		ok   bool
	}{
		{"ok", Frame{Width: 2, Height: 2, Pix: make([]byte, 12)}, true},
		{"zero", Frame{}, false},
		{"short", Frame{Width: 2, Height: 2, Pix: make([]byte, 11)}, false},
		{"huge", Frame{Width: 1 << 15, Height: 1, Pix: make([]byte, 3<<15)}, false},
		{"negative", Frame{Width: -2, Height: -2, Pix: make([]byte, 12)}, false},
	} {
		err := tc.f.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
