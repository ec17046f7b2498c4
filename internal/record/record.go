package record

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/sensor"
)

// Recorder writes one recording. Its methods are safe for concurrent use
// (each camera's frames come from its own goroutine).
type Recorder struct {
	out   string
	start time.Time

	mu     sync.Mutex
	cams   map[string]*camDir
	csvF   *os.File
	csv    *sensor.CSVWriter
	trs    int
	err    error // first write error
	closed bool
}

type camDir struct {
	w    *camera.DirWriter
	idxF *os.File
	idx  *bufio.Writer
}

// Summary is what a recording holds.
type Summary struct {
	Dir         string
	Frames      map[string]int
	Transitions int
}

// New creates the recording folder out (it must not exist or be empty),
// a folder per camera and sensors.csv; t_ms 0 is start.
func New(out string, cameras []string, start time.Time) (*Recorder, error) {
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("record: %s is not empty; choose a new folder", out)
	}
	if err := os.MkdirAll(out, 0o750); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &Recorder{out: out, start: start, cams: map[string]*camDir{}}
	for _, name := range cameras {
		if _, dup := r.cams[name]; dup || name == "" || filepath.Base(name) != name {
			r.Close()
			return nil, fmt.Errorf("record: camera name %q unusable as a folder", name)
		}
		w, err := camera.NewDirWriter(filepath.Join(out, name))
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("record: camera %q: %w", name, err)
		}
		f, err := os.Create(filepath.Join(out, name, "frames.csv"))
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("record: %w", err)
		}
		c := &camDir{w: w, idxF: f, idx: bufio.NewWriter(f)}
		c.idx.WriteString("index,t_ms,seq\n")
		r.cams[name] = c
	}
	f, err := os.Create(filepath.Join(out, "sensors.csv"))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("record: %w", err)
	}
	r.csvF = f
	if r.csv, err = sensor.NewCSVWriter(f, start); err != nil {
		r.Close()
		return nil, fmt.Errorf("record: %w", err)
	}
	return r, nil
}

func (r *Recorder) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return err
}

// Frame stores a decoded frame as PNG.
func (r *Recorder) Frame(f *frame.Frame) error {
	return r.store(f, func(c *camDir) error { return c.w.Write(f) })
}

// RawFrame stores a frame from the camera's raw bytes: MJPEG as the
// camera sent it, anything else as the decoded frame's PNG.
func (r *Recorder) RawFrame(f *frame.Frame, raw []byte, format camera.Format) error {
	if format != camera.MJPEG {
		return r.Frame(f)
	}
	return r.store(f, func(c *camDir) error { return c.w.WriteJPEG(raw) })
}

func (r *Recorder) store(f *frame.Frame, write func(*camDir) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cams[f.Camera]
	if c == nil || r.closed {
		return fmt.Errorf("record: frame of camera %q not being recorded", f.Camera)
	}
	if f.Time.Before(r.start) {
		return nil // captured before the recording started
	}
	i := c.w.Frames()
	if err := write(c); err != nil {
		return r.fail(err)
	}
	fmt.Fprintf(c.idx, "%d,%d,%d\n", i, f.Time.Sub(r.start).Milliseconds(), f.Seq)
	return nil
}

// Transition appends to sensors.csv (a sensor.Options.OnTransition).
func (r *Recorder) Transition(t sensor.Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || t.At.Before(r.start) {
		return
	}
	if err := r.csv.Write(t); err != nil {
		r.fail(fmt.Errorf("record: sensors.csv: %w", err))
		return
	}
	r.trs++
}

// Close flushes and syncs every file; it returns the first error the
// recording met. Idempotent.
func (r *Recorder) Close() (Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Dir: r.out, Frames: map[string]int{}, Transitions: r.trs}
	if r.closed {
		return s, r.err
	}
	r.closed = true
	var errs []error
	if r.err != nil {
		errs = append(errs, r.err)
	}
	for name, c := range r.cams {
		s.Frames[name] = c.w.Frames()
		errs = append(errs, c.idx.Flush(), c.idxF.Sync(), c.idxF.Close())
	}
	if r.csvF != nil {
		errs = append(errs, r.csv.Flush(), r.csvF.Sync(), r.csvF.Close())
	}
	r.err = errors.Join(errs...)
	return s, r.err
}

// Camera is one source to record. Raw says its frames reach the
// recorder through RawFrame (a V4L2 source's OnRaw); its decoded frames
// are then only drained.
type Camera struct {
	Source camera.Source
	Raw    bool
}

// Runner is anything else that runs during the recording (the sensor
// bank, whose OnTransition is the recorder's Transition).
type Runner interface {
	Run(ctx context.Context) error
}

// Run records until ctx ends or every camera source ends (a replay), for
// at most d (0: no limit), then closes the recorder.
func Run(ctx context.Context, r *Recorder, cams []Camera, runners []Runner, d time.Duration, log *slog.Logger) (Summary, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	note := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	var camsWG sync.WaitGroup
	for _, c := range cams {
		wg.Add(1)
		camsWG.Add(1)
		go func() {
			defer wg.Done()
			note(c.Source.Run(ctx))
		}()
		go func() {
			defer camsWG.Done()
			var f frame.Frame
			for {
				err := c.Source.Next(ctx, &f)
				if err != nil {
					if !errors.Is(err, camera.ErrEnded) && ctx.Err() == nil {
						note(err)
					}
					return
				}
				if !c.Raw {
					if err := r.Frame(&f); err != nil {
						note(err)
						cancel()
						return
					}
				}
			}
		}()
	}
	for _, x := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			note(x.Run(ctx))
		}()
	}
	if len(cams) == 0 {
		<-ctx.Done()
	}
	camsWG.Wait() // every camera ended, or ctx did
	cancel()
	wg.Wait()
	var replay []camera.Config
	for _, c := range cams {
		h := c.Source.Health()
		log.Info("recorded camera", "camera", h.Camera, "frames", h.Frames, "drops", h.Drops, "corrupt", h.Corrupt, "reopens", h.Reopens)
		c.Source.Close()
		replay = append(replay, camera.Config{Name: h.Camera, Replay: filepath.Join(r.absOut(), h.Camera), FPS: h.Mode.FPS})
	}
	s, err := r.Close()
	note(err)
	note(writeReplayConfig(filepath.Join(r.out, ReplayConfig), replay))
	return s, errors.Join(errs...)
}

// ReplayConfig is the file Run leaves in the recording: a cameras:
// section that replays it (laned record --config, or the daemon's
// config), each camera at the rate it was captured at.
const ReplayConfig = "replay.yaml"

func (r *Recorder) absOut() string {
	if a, err := filepath.Abs(r.out); err == nil {
		return a
	}
	return r.out
}

func writeReplayConfig(path string, cams []camera.Config) error {
	var b strings.Builder
	b.WriteString("# Written by laned record: replays this recording (sensors.csv holds the\n# sensor transitions; sensor.ParseCSV reads them).\ncameras:\n")
	for _, c := range cams {
		fmt.Fprintf(&b, "  - name: %s\n    replay: %s\n    fps: %s\n", c.Name, strconv.Quote(c.Replay), strconv.FormatFloat(c.FPS, 'f', -1, 64))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o640); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}
