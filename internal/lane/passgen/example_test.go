package passgen_test

import (
	"fmt"
	"os"
	"time"

	"github.com/laned/laned/internal/lane/passgen"
)

// Two vehicles, the second a tailgater at night, seen by two cameras; the
// loop transitions are what a recorded pass's sensors.csv would hold.
func ExampleGenerate() {
	p := func(id string, enrolled bool) passgen.Person {
		return passgen.Person{ID: id, Enrolled: enrolled, Face: passgen.SyntheticFace(id)}
	}
	sc, err := passgen.Generate(passgen.Config{Width: 640, Height: 360, Cameras: []string{"front", "side"}, Seed: 1}, []passgen.Vehicle{
		{Occupants: []passgen.Person{p("S-1", true), p("X-1", false)}, Speed: 3, Gap: time.Second},
		{Occupants: []passgen.Person{p("S-2", true)}, Speed: 3, Variant: passgen.Dark, Gap: -3 * time.Second},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range sc.Vehicles() {
		fmt.Printf("vehicle %d %s: arrives %s, departs %s, %d occupants\n", v.Index, v.Variant,
			v.Arrive.Round(time.Millisecond), v.Depart.Round(time.Millisecond), len(v.Occupants))
	}
	f := sc.Render("side", 40)
	fmt.Println(f.Camera, f.Seq, f.Width, f.Height, len(sc.Faces("side", 40)), "faces")
	passgen.WriteSensorsCSV(os.Stdout, sc.Transitions()[:4])
	// Output:
	// vehicle 0 normal: arrives 1.567s, departs 4.067s, 2 occupants
	// vehicle 1 dark: arrives 3.233s, departs 5.733s, 1 occupants
	// side 41 640 360 2 faces
	// t_ms,input,level
	// 1099,video,1
	// 1566,arrival,1
	// 2566,departure,1
	// 3066,arrival,0
}
