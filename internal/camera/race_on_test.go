//go:build race

package camera

// The race detector allocates behind the code; allocation counts are
// checked without it.
const raceEnabled = true
