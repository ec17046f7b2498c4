package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision"
)

// fakeBackend records the frames and chips it is given, in order. A frame
// whose camera is "gate" blocks until the gate channel is closed.
type fakeBackend struct {
	gate chan struct{}

	mu     sync.Mutex
	frames []string // camera#seq, in the order analysed
	chips  int
}

func newFake() *fakeBackend { return &fakeBackend{gate: make(chan struct{})} }

func (b *fakeBackend) AnalyzeFrame(f *frame.Frame) (vision.Analysis, error) {
	if f.Camera == "gate" {
		<-b.gate
	}
	b.mu.Lock()
	b.frames = append(b.frames, fmt.Sprintf("%s#%d", f.Camera, f.Seq))
	b.mu.Unlock()
	if f.Camera == "broken" {
		return vision.Analysis{}, errors.New("backend failed")
	}
	return vision.Analysis{Camera: f.Camera, Seq: f.Seq, Time: f.Time, Width: f.Width, Height: f.Height}, nil
}

func (b *fakeBackend) Embed(chips []vision.Chip) ([]vision.Embedding, error) {
	b.mu.Lock()
	b.chips += len(chips)
	b.mu.Unlock()
	out := make([]vision.Embedding, len(chips))
	for i, c := range chips {
		out[i] = vision.Embedding{float32(c.Pix[0])}
	}
	return out, nil
}

func (b *fakeBackend) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.frames)
}

func testFrame(camera string, seq uint64) *frame.Frame {
	return &frame.Frame{Camera: camera, Seq: seq, Time: time.Unix(1000, 0), Width: 2, Height: 2, Pix: make([]byte, 12)}
}

// start runs a worker over b until the test ends.
func start(t *testing.T, b Backend) *Worker {
	t.Helper()
	w, stop, err := Start(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run after cancel: %v, want nil", err)
		}
	})
	return w
}

// analyzeAsync queues an analysis and reports its error on the returned channel.
func analyzeAsync(ctx context.Context, c Client, f *frame.Frame) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := c.Analyze(ctx, f)
		ch <- err
	}()
	return ch
}

func TestLaneBeforeConsole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFake()
		w := start(t, b)
		lane, console := w.Client(PriorityLane), w.Client(PriorityConsole)
		ctx := context.Background()
		var waits []<-chan error
		waits = append(waits, analyzeAsync(ctx, console, testFrame("gate", 1)))
		synctest.Wait() // the worker is busy on the gate frame
		waits = append(waits, analyzeAsync(ctx, console, testFrame("console", 1)))
		synctest.Wait()
		waits = append(waits, analyzeAsync(ctx, lane, testFrame("lane", 1)))
		synctest.Wait()
		waits = append(waits, analyzeAsync(ctx, lane, testFrame("lane", 2)))
		synctest.Wait()
		if n := w.Queued(PriorityLane) + w.Queued(PriorityConsole); n != 3 {
			t.Fatalf("%d requests queued, want 3", n)
		}
		close(b.gate)
		for _, ch := range waits {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		want := []string{"gate#1", "lane#1", "lane#2", "console#1"}
		if got := b.seen(); !slices.Equal(got, want) {
			t.Errorf("ran %v, want %v", got, want)
		}
	})
}

func TestConsoleNotStarved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFake()
		w := start(t, b)
		lane, console := w.Client(PriorityLane), w.Client(PriorityConsole)
		ctx := context.Background()
		var waits []<-chan error
		waits = append(waits, analyzeAsync(ctx, lane, testFrame("gate", 1)))
		synctest.Wait()
		waits = append(waits, analyzeAsync(ctx, console, testFrame("console", 1)))
		synctest.Wait()
		for i := 1; i <= 2*MaxLaneRun; i++ {
			waits = append(waits, analyzeAsync(ctx, lane, testFrame("lane", uint64(i))))
			synctest.Wait()
		}
		close(b.gate)
		for _, ch := range waits {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		got := b.seen()
		if i := slices.Index(got, "console#1"); i != 1+MaxLaneRun {
			t.Errorf("console request ran at position %d of %v, want %d (after %d lane requests)", i, got, 1+MaxLaneRun, MaxLaneRun)
		}
	})
}

func TestCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFake()
		w := start(t, b)
		c := w.Client(PriorityConsole)
		first := analyzeAsync(context.Background(), c, testFrame("gate", 1))
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		queued := analyzeAsync(ctx, c, testFrame("cancelled", 1))
		embedCtx, cancelEmbed := context.WithTimeout(context.Background(), time.Second)
		defer cancelEmbed()
		embedErr := make(chan error, 1)
		go func() {
			_, err := c.Embed(embedCtx, []vision.Chip{{Side: 2, Pix: make([]byte, 12)}})
			embedErr <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-queued; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled request: err %v, want context.Canceled", err)
		}
		time.Sleep(2 * time.Second) // fake time: the embed's deadline passes
		if err := <-embedErr; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timed-out embed: err %v, want deadline exceeded", err)
		}
		if n := w.Queued(PriorityConsole); n != 0 {
			t.Errorf("%d requests still queued after their callers left", n)
		}
		close(b.gate)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		// a request after the cancelled ones runs, and they never did
		if _, err := c.Analyze(context.Background(), testFrame("after", 1)); err != nil {
			t.Fatal(err)
		}
		if got, want := b.seen(), []string{"gate#1", "after#1"}; !slices.Equal(got, want) {
			t.Errorf("ran %v, want %v", got, want)
		}
		if b.chips != 0 {
			t.Errorf("the timed-out embedding ran on %d chips", b.chips)
		}
		if s := w.Stats(); s.Cancelled[PriorityConsole] != 2 || s.Served[PriorityConsole] != 2 {
			t.Errorf("stats %+v, want 2 cancelled and 2 served at console priority", s)
		}
	})
}

func TestValidatesBeforeQueuing(t *testing.T) {
	b := newFake()
	w, err := New(b, nil) // not running: a valid request would block
	if err != nil {
		t.Fatal(err)
	}
	c := w.Client(PriorityLane)
	ctx := context.Background()
	for _, f := range []*frame.Frame{nil, {Camera: "front", Seq: 7, Width: 4, Height: 4, Pix: make([]byte, 10)}} {
		if _, err := c.Analyze(ctx, f); err == nil {
			t.Errorf("frame %+v accepted", f)
		}
	}
	if _, err := c.Embed(ctx, []vision.Chip{{Side: 150, Pix: make([]byte, 100)}}); err == nil {
		t.Error("short chip accepted")
	}
	if embs, err := c.Embed(ctx, nil); err != nil || embs != nil {
		t.Errorf("no chips: %v, %v; want nothing", embs, err)
	}
	if len(b.seen()) != 0 {
		t.Error("backend called with invalid input")
	}
	if _, err := New(nil, nil); err == nil {
		t.Error("nil backend accepted")
	}
}

func TestCloseFailsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFake()
		w, err := New(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		// queued before Run ever starts
		waiting := analyzeAsync(context.Background(), w.Client(PriorityLane), testFrame("front", 1))
		synctest.Wait()
		w.Close()
		w.Close()
		if err := <-waiting; !errors.Is(err, ErrClosed) {
			t.Errorf("queued request after Close: %v, want ErrClosed", err)
		}
		if _, err := w.Client(PriorityLane).Analyze(context.Background(), testFrame("front", 2)); !errors.Is(err, ErrClosed) {
			t.Errorf("request after Close: %v, want ErrClosed", err)
		}
		if err := w.Run(context.Background()); err != nil {
			t.Errorf("Run after Close: %v, want nil", err)
		}
		if err := w.Run(context.Background()); err == nil {
			t.Error("second Run accepted")
		}
	})
}

func TestBackendErrorPassesThrough(t *testing.T) {
	w := start(t, newFake())
	_, err := w.Client(PriorityLane).Analyze(context.Background(), testFrame("broken", 3))
	if err == nil || err.Error() != "backend failed" {
		t.Fatalf("err %v, want the backend's", err)
	}
}
