package trigger_test

import (
	"fmt"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/trigger"
)

// A virtual loop over the middle of a camera's picture: a dark block
// (a vehicle) enters the region for 8 frames.
func ExampleTrigger_Observe() {
	tr, err := trigger.New(trigger.Config{Name: "video-front", Camera: "front",
		Region: trigger.Rect{X: 0.25, Y: 0.25, W: 0.5, H: 0.5}})
	if err != nil {
		panic(err)
	}
	start := time.Unix(0, 0)
	for i := 0; i < 30; i++ {
		f := &frame.Frame{Camera: "front", Width: 64, Height: 48, Time: start.Add(time.Duration(i) * 40 * time.Millisecond)}
		f.Pix = make([]byte, 3*64*48)
		for k := range f.Pix {
			f.Pix[k] = byte(100 + k%17)
		}
		if i >= 10 && i < 18 {
			for y := 12; y < 36; y++ {
				for x := 16; x < 48; x++ {
					o := 3 * (y*64 + x)
					f.Pix[o], f.Pix[o+1], f.Pix[o+2] = 20, 20, 25
				}
			}
		}
		if t, ok := tr.Observe(f); ok {
			fmt.Printf("present=%v at %v\n", t.Active, t.At.Sub(start))
		}
	}
	// Output:
	// present=true at 400ms
	// present=false at 720ms
}
