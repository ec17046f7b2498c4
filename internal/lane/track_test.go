package lane

import (
	"testing"
	"time"

	"github.com/laned/laned/internal/vision"
)

func cand(q float64) vision.Candidate {
	return vision.Candidate{Quality: vision.Quality{Score: q, Verdict: vision.VerdictOK}, Chip: vision.Chip{Side: 8, Pix: make([]byte, 192)}}
}

// TestBestKHysteresis: the K best stay, a shot only slightly better than
// the worst does not flap in, dropped shots are zeroed through drop.
func TestBestKHysteresis(t *testing.T) {
	tr := &track{}
	var dropped []float64
	drop := func(s *shot) { dropped = append(dropped, s.cand.Quality.Score) }
	for _, q := range []float64{0.5, 0.7, 0.6} {
		if tr.addShot(cand(q), 3, 0.05, drop) == nil {
			t.Fatalf("shot %v refused with room left", q)
		}
	}
	if tr.addShot(cand(0.53), 3, 0.05, drop) != nil {
		t.Error("0.53 replaced the worst 0.5 within the hysteresis 0.05")
	}
	if tr.addShot(cand(0.9), 3, 0.05, drop) == nil {
		t.Fatal("0.9 refused")
	}
	got := []float64{}
	for _, s := range tr.shots {
		got = append(got, s.cand.Quality.Score)
	}
	if len(got) != 3 || got[0] != 0.9 || got[1] != 0.7 || got[2] != 0.6 || len(dropped) != 1 || dropped[0] != 0.5 {
		t.Errorf("kept %v, dropped %v", got, dropped)
	}
}

// TestTrackerSeatsDoNotSwap: four faces of one vehicle moving fast (more
// than a face width a frame, seats closer than the motion), entering one
// after the other, stay on four tracks.
func TestTrackerSeatsDoNotSwap(t *testing.T) {
	next := 0
	tk := &tracker{gap: 500 * time.Millisecond, distance: 1.5, nextID: &next}
	t0 := time.Unix(0, 0)
	seatX := []float32{0, -50, -110, -160} // behind the front, px
	w := float32(35)
	speed := float32(45) // px per frame
	ids := map[int]map[int]bool{}
	for f := range 30 {
		at := t0.Add(time.Duration(f) * time.Second / 15)
		front := float32(f) * speed
		var obs []observation
		var seats []int
		for k, dx := range seatX {
			x := front + dx
			if x < 0 || x > 1280 {
				continue
			}
			c := cand(0.8)
			c.Face.Box = vision.Box{X0: x, Y0: 100, X1: x + w, Y1: 100 + w}
			obs = append(obs, observation{cand: c}) // no chip signature: position only
			seats = append(seats, k)
		}
		for i, tr := range tk.assign(obs, at) {
			if ids[seats[i]] == nil {
				ids[seats[i]] = map[int]bool{}
			}
			ids[seats[i]][tr.id] = true
		}
	}
	for k := range seatX {
		if len(ids[k]) != 1 {
			t.Errorf("seat %d on %d tracks", k, len(ids[k]))
		}
	}
	if next != 4 {
		t.Errorf("%d tracks for 4 faces", next)
	}
}

func TestSignature(t *testing.T) {
	a := vision.Chip{Side: 16, Pix: make([]byte, 3*16*16)}
	b := vision.Chip{Side: 16, Pix: make([]byte, 3*16*16)}
	for i := range a.Pix {
		a.Pix[i] = byte(i % 251)
		b.Pix[i] = byte(255 - i%251)
	}
	if s := dot(signature(a), signature(a)); s < 0.999 {
		t.Errorf("self similarity %v", s)
	}
	if s := dot(signature(a), signature(b)); s > -0.9 {
		t.Errorf("inverted chip similarity %v, want ≈ -1", s)
	}
	if signature(vision.Chip{Side: 4, Pix: make([]byte, 48)}) != nil {
		t.Error("signature of a 4-px chip")
	}
}
