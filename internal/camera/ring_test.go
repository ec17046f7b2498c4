package camera

import (
	"context"
	"testing"

	"github.com/laned/laned/internal/frame"
)

func TestRingHandoffAllocationFree(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	r := newRing(4)
	ctx := context.Background()
	var dst frame.Frame
	const w, h = 1920, 1080
	cycle := func() {
		f := r.acquire()
		f.Width, f.Height = w, h
		f.Pix = grow(f.Pix, 3*w*h)
		f.Pix[0]++
		r.publish(f)
		if err := r.next(ctx, &dst); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 8; i++ { // warm every slot's buffer
		cycle()
	}
	if n := testing.AllocsPerRun(1000, cycle); n != 0 {
		t.Errorf("%v allocations per frame handoff, want 0", n)
	}
	if dst.Width != w || len(dst.Pix) != 3*w*h {
		t.Errorf("dst %dx%d, %d bytes", dst.Width, dst.Height, len(dst.Pix))
	}
}

func BenchmarkRingHandoff(b *testing.B) {
	r := newRing(4)
	ctx := context.Background()
	var dst frame.Frame
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f := r.acquire()
		f.Width, f.Height = 1920, 1080
		f.Pix = grow(f.Pix, 3*1920*1080)
		f.Seq = uint64(i)
		r.publish(f)
		if err := r.next(ctx, &dst); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRingDrainsThenEnds(t *testing.T) {
	r := newRing(2)
	for i := 1; i <= 3; i++ {
		f := r.acquire()
		f.Seq = uint64(i)
		r.publish(f)
	}
	r.close()
	var dst frame.Frame
	for _, want := range []uint64{2, 3} {
		if err := r.next(context.Background(), &dst); err != nil || dst.Seq != want {
			t.Fatalf("next = %d, %v; want %d", dst.Seq, err, want)
		}
	}
	if err := r.next(context.Background(), &dst); err != ErrEnded {
		t.Fatalf("after drain: %v, want ErrEnded", err)
	}
	if r.dropped() != 1 {
		t.Errorf("drops %d, want 1", r.dropped())
	}
}
