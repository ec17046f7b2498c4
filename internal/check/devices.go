package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CameraStatus is one camera as the running lane measures it.
type CameraStatus struct {
	Name       string
	Device     string
	WantFPS    float64
	FPS        float64 // measured over the probe window
	Sharpness  float64 // variance of the Laplacian on a live frame
	Brightness float64 // mean luminance 0–255
	Err        string  // the camera's fault, "" when delivering
}

// CameraProbe measures the cameras (the daemon's local API).
type CameraProbe interface {
	ProbeCameras(ctx context.Context) ([]CameraStatus, error)
}

// CameraLimits are what "sane" means for a commissioned camera.
type CameraLimits struct {
	MinFPSRatio  float64 // measured/configured, default 0.9
	MinSharpness float64 // default 100
	MinBright    float64 // default 40
	MaxBright    float64 // default 220
}

func (l CameraLimits) withDefaults() CameraLimits {
	if l.MinFPSRatio == 0 {
		l.MinFPSRatio = 0.9
	}
	if l.MinSharpness == 0 {
		l.MinSharpness = 100
	}
	if l.MinBright == 0 {
		l.MinBright = 40
	}
	if l.MaxBright == 0 {
		l.MaxBright = 220
	}
	return l
}

// CameraFrames fails for each camera that delivers no frames or fewer than
// MinFPSRatio of its configured rate.
func CameraFrames(p CameraProbe, lim CameraLimits) Check {
	lim = lim.withDefaults()
	return Check{Name: "camera frames", Run: func(ctx context.Context) (string, error) {
		cams, err := p.ProbeCameras(ctx)
		if err != nil {
			return "", err
		}
		if len(cams) == 0 {
			return "", errors.New("no cameras configured")
		}
		var bad, good []string
		for _, c := range cams {
			id := fmt.Sprintf("camera %s (%s)", c.Name, c.Device)
			switch {
			case c.Err != "":
				bad = append(bad, id+": "+c.Err)
			case c.FPS < lim.MinFPSRatio*c.WantFPS:
				bad = append(bad, fmt.Sprintf("%s: %.1f fps, want at least %.1f (%.0f%% of %.0f)", id, c.FPS, lim.MinFPSRatio*c.WantFPS, 100*lim.MinFPSRatio, c.WantFPS))
			default:
				good = append(good, fmt.Sprintf("%s %.1f fps", c.Name, c.FPS))
			}
		}
		if len(bad) > 0 {
			return "", errors.New(strings.Join(bad, "; "))
		}
		return strings.Join(good, ", "), nil
	}}
}

// CameraImage fails for each camera whose live frame is blurred (lens out
// of focus, dirty window) or too dark or bright (exposure, glare).
func CameraImage(p CameraProbe, lim CameraLimits) Check {
	lim = lim.withDefaults()
	return Check{Name: "camera focus and exposure", Run: func(ctx context.Context) (string, error) {
		cams, err := p.ProbeCameras(ctx)
		if err != nil {
			return "", err
		}
		var bad, good []string
		for _, c := range cams {
			id := fmt.Sprintf("camera %s (%s)", c.Name, c.Device)
			switch {
			case c.Err != "":
				bad = append(bad, id+": no frame to judge")
			case c.Sharpness < lim.MinSharpness:
				bad = append(bad, fmt.Sprintf("%s: sharpness %.0f, want at least %.0f (focus the lens: console 'focus %s')", id, c.Sharpness, lim.MinSharpness, c.Name))
			case c.Brightness < lim.MinBright || c.Brightness > lim.MaxBright:
				bad = append(bad, fmt.Sprintf("%s: brightness %.0f, want %.0f–%.0f (exposure, lighting or glare)", id, c.Brightness, lim.MinBright, lim.MaxBright))
			default:
				good = append(good, fmt.Sprintf("%s sharpness %.0f brightness %.0f", c.Name, c.Sharpness, c.Brightness))
			}
		}
		if len(bad) > 0 {
			return "", errors.New(strings.Join(bad, "; "))
		}
		return strings.Join(good, ", "), nil
	}}
}

// V4L2Major is the character-device major of video4linux.
const V4L2Major = 81

// CameraDevices checks, without the daemon, that every configured camera
// path is a video4linux character device (by-id links resolve).
func CameraDevices(cams map[string]string) Check {
	return Check{Name: "camera devices", Run: func(context.Context) (string, error) {
		return eachDevice(cams, "camera", func(name, dev string) error {
			st, err := charDevice(dev)
			if err != nil {
				return err
			}
			if unix.Major(st.Rdev) != V4L2Major {
				return fmt.Errorf("%s is not a video4linux device (major %d)", dev, unix.Major(st.Rdev))
			}
			return nil
		})
	}}
}

func charDevice(path string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return nil, fmt.Errorf("%s is not a character device", path)
	}
	return &st, nil
}

func eachDevice(m map[string]string, what string, fn func(name, dev string) error) (string, error) {
	if len(m) == 0 {
		return "", fmt.Errorf("no %ss configured", what)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var bad, good []string
	for _, n := range names {
		if err := fn(n, m[n]); err != nil {
			bad = append(bad, fmt.Sprintf("%s %s: %v", what, n, err))
			continue
		}
		good = append(good, fmt.Sprintf("%s %s", n, m[n]))
	}
	if len(bad) > 0 {
		return "", errors.New(strings.Join(bad, "; "))
	}
	return strings.Join(good, ", "), nil
}

// SensorStatus is one presence input as the running lane reads it.
type SensorStatus struct {
	Name   string
	Line   string // gpiochip0:17
	Active bool
	Edges  uint64
	Err    string // "" when readable
}

// SensorProbe reads the sensors (the daemon's local API).
type SensorProbe interface {
	ProbeSensors(ctx context.Context) ([]SensorStatus, error)
}

// Sensors fails for each configured sensor that cannot be read.
func Sensors(p SensorProbe) Check {
	return Check{Name: "sensors", Run: func(ctx context.Context) (string, error) {
		ss, err := p.ProbeSensors(ctx)
		if err != nil {
			return "", err
		}
		if len(ss) == 0 {
			return "", errors.New("no sensors configured")
		}
		var bad, good []string
		for _, s := range ss {
			if s.Err != "" {
				bad = append(bad, fmt.Sprintf("sensor %s (%s): %s", s.Name, s.Line, s.Err))
				continue
			}
			good = append(good, fmt.Sprintf("%s %s", s.Name, map[bool]string{true: "active", false: "idle"}[s.Active]))
		}
		if len(bad) > 0 {
			return "", errors.New(strings.Join(bad, "; "))
		}
		return strings.Join(good, ", "), nil
	}}
}

// EdgeWaiter waits for the next edge of one sensor (the interactive toggle
// test: "drive over the arrival loop now").
type EdgeWaiter interface {
	WaitEdge(ctx context.Context, sensor string) error
}

// Toggle asks the technician to trigger sensor and waits for its edge.
func Toggle(w EdgeWaiter, sensor, action string, prompt io.Writer) Check {
	return Check{Name: "sensor " + sensor + " toggles", Run: func(ctx context.Context) (string, error) {
		fmt.Fprintf(prompt, ">>> %s now (waiting for sensor %s)\n", action, sensor)
		start := time.Now()
		if err := w.WaitEdge(ctx, sensor); err != nil {
			return "", fmt.Errorf("sensor %s: no edge: %w", sensor, err)
		}
		return fmt.Sprintf("edge after %s", time.Since(start).Round(100*time.Millisecond)), nil
	}}
}

// SensorLines checks, without the daemon, that every configured sensor's
// "gpiochipN:OFFSET" names a GPIO chip that exists and has that line.
func SensorLines(lines map[string]string) Check {
	return Check{Name: "sensor lines", Run: func(context.Context) (string, error) {
		return eachDevice(lines, "sensor", func(name, spec string) error {
			chip, off, ok := strings.Cut(spec, ":")
			n, err := strconv.Atoi(off)
			if !ok || err != nil || n < 0 || !strings.HasPrefix(chip, "gpiochip") {
				return fmt.Errorf("line %q: want gpiochipN:OFFSET", spec)
			}
			dev := "/dev/" + chip
			if _, err := charDevice(dev); err != nil {
				return err
			}
			count, label, err := chipLines(dev)
			if err != nil {
				return err
			}
			if n >= count {
				return fmt.Errorf("%s (%s) has %d lines, no line %d", dev, label, count, n)
			}
			return nil
		})
	}}
}

// gpiochipInfo is struct gpiochip_info of <linux/gpio.h>.
type gpiochipInfo struct {
	Name  [32]byte
	Label [32]byte
	Lines uint32
}

// gpioGetChipinfo is GPIO_GET_CHIPINFO_IOCTL, _IOR(0xB4, 0x01, struct gpiochip_info).
const gpioGetChipinfo = 0x8044b401

func chipLines(dev string) (int, string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", dev, err)
	}
	defer f.Close()
	var info gpiochipInfo
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), gpioGetChipinfo, uintptr(unsafe.Pointer(&info))); e != 0 {
		return 0, "", fmt.Errorf("%s: chip info: %w", dev, e)
	}
	return int(info.Lines), strings.TrimRight(string(info.Label[:]), "\x00"), nil
}

// GalleryStatus is the active gallery as the daemon holds it.
type GalleryStatus struct {
	Version  string
	Built    time.Time
	Subjects int
}

// GalleryProbe reports the gallery (the daemon's local API, or the store
// read directly when no daemon holds it).
type GalleryProbe interface {
	ProbeGallery(ctx context.Context) (GalleryStatus, error)
}

// Gallery fails when no gallery is loaded or it is older than maxAge.
func Gallery(p GalleryProbe, maxAge time.Duration, now func() time.Time) Check {
	if now == nil {
		now = time.Now
	}
	return Check{Name: "gallery", Run: func(ctx context.Context) (string, error) {
		g, err := p.ProbeGallery(ctx)
		if err != nil {
			return "", err
		}
		if g.Version == "" {
			return "", errors.New("no gallery loaded: the lane cannot match (gallery sync or gallery import)")
		}
		age := now().Sub(g.Built)
		detail := fmt.Sprintf("gallery %s, %d subjects, built %s ago", g.Version, g.Subjects, age.Round(time.Minute))
		if age > maxAge {
			return "", fmt.Errorf("%s, want at most %s (the nightly sync is failing?)", detail, maxAge)
		}
		return detail, nil
	}}
}
