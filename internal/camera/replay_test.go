package camera_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/camera/cameratest"
	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/frame"
)

func drain(t *testing.T, src camera.Source) []frame.Frame {
	t.Helper()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	var out []frame.Frame
	for {
		var f frame.Frame // fresh: we keep it
		err := src.Next(ctx, &f)
		if errors.Is(err, camera.ErrEnded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	return out
}

func TestDirWriterReplayRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "front")
	w, err := camera.NewDirWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sums [][32]byte
	for i := 0; i < 12; i++ {
		var f frame.Frame
		f.Width, f.Height = 64, 48
		if err := (camera.GoDecoder{}).Decode(&f, cameratest.Pattern(uint64(i), cameratest.Mode{Format: camera.YUYV, Width: 64, Height: 48}), camera.YUYV); err != nil {
			t.Fatal(err)
		}
		f.Camera, f.Seq = "front", uint64(i+1)
		if err := w.Write(&f); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sha256.Sum256(f.Pix))
	}
	if _, err := camera.NewDirWriter(dir); err == nil {
		t.Error("a second recording into the same folder was accepted")
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	src, err := camera.NewDir(camera.Config{Name: "front", Replay: dir, FPS: 25}, camera.ReplayOptions{Start: start})
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, src)
	if len(got) != 12 {
		t.Fatalf("%d frames replayed, want 12", len(got))
	}
	for i, f := range got {
		if sha256.Sum256(f.Pix) != sums[i] {
			t.Errorf("frame %d: checksum differs", i)
		}
		if want := start.Add(time.Duration(i) * 40 * time.Millisecond); !f.Time.Equal(want) || f.Seq != uint64(i+1) {
			t.Errorf("frame %d: seq %d at %v, want at %v", i, f.Seq, f.Time, want)
		}
	}
	if h := src.Health(); h.State != camera.StateEnded || h.Frames != 12 {
		t.Errorf("health %+v", h)
	}
	src.Close()
	src.Close()
}

func TestReplaySkipsAndCountsCorruptFrames(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	for i := 0; i < n; i++ {
		data := cameratest.JPEG(64, 48, i, i%2 == 0) // half without DHT, like UVC
		if i == 50 || i == 150 {                     // 1%: truncated
			data = data[:len(data)/3]
		}
		if err := os.WriteFile(filepath.Join(dir, frameName(i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Odd entries that must not hang or crash the replay.
	if err := syscall.Mkfifo(filepath.Join(dir, "000100b.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "000120b.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	src, err := camera.NewDir(camera.Config{Name: "side", Replay: dir, FPS: 30}, camera.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, src)
	h := src.Health()
	t.Logf("replayed %d of %d entries, corrupt %d", len(got), n+2, h.Corrupt)
	if len(got) != n-2 || h.Corrupt != 4 || h.Frames != n-2 {
		t.Errorf("delivered %d, corrupt %d, frames %d; want %d, 4, %d", len(got), h.Corrupt, h.Frames, n-2, n-2)
	}
}

func frameName(i int) string { return pad6(i) + ".jpg" }

func pad6(i int) string { return fmt.Sprintf("%06d", i) }

func TestReplayRealTimeOnClock(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 10; i++ {
		os.WriteFile(filepath.Join(dir, pad6(i)+".jpg"), cameratest.JPEG(32, 32, i, true), 0o644)
	}
	synctest.Test(t, func(t *testing.T) {
		src, err := camera.NewDir(camera.Config{Name: "f", Replay: dir, FPS: 10, RealTime: true}, camera.ReplayOptions{Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		go src.Run(context.Background())
		var f frame.Frame
		for i := 0; i < 10; i++ {
			if err := src.Next(context.Background(), &f); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el != time.Duration(i)*100*time.Millisecond {
				t.Fatalf("frame %d delivered at %v", i, el)
			}
		}
		if err := src.Next(context.Background(), &f); !errors.Is(err, camera.ErrEnded) {
			t.Fatalf("after the last frame: %v", err)
		}
	})
}

func TestNewDirErrors(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []camera.Config{
		{Name: "a", Replay: filepath.Join(empty, "missing")},
		{Name: "a", Replay: empty},
	} {
		c.Key = "cameras[0]"
		if _, err := camera.NewDir(c, camera.ReplayOptions{}); err == nil || !strings.Contains(err.Error(), "cameras[0].replay") {
			t.Errorf("NewDir(%s) = %v", c.Replay, err)
		}
	}
}
