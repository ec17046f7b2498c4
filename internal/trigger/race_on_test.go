//go:build race

package trigger_test

// The race detector allocates behind the code; allocation counts are
// checked without it.
const raceEnabled = true
