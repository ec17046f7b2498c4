package sensor_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/laned/laned/internal/sensor"
)

// A vehicle drives over the arrival loop, then the departure loop; a
// second one reaches the departure loop and backs out. Only the first is
// a pass through the lane.
func ExampleDirection() {
	csv := `t_ms,input,level
1000,arrival,1
1800,departure,1
2600,arrival,0
3300,departure,0
9000,arrival,1
9700,departure,1
11000,departure,0
12500,arrival,0
`
	trs, err := sensor.ParseCSV(strings.NewReader(csv), time.Unix(0, 0))
	if err != nil {
		panic(err)
	}
	d := sensor.NewDirection("arrival", "departure")
	for _, t := range trs {
		if p, ok := d.Feed(t); ok {
			fmt.Printf("%s, %v on the loops\n", p.Way, p.End.Sub(p.Start))
		}
	}
	// Output:
	// forward, 2.3s on the loops
	// backed-out, 3.5s on the loops
}
