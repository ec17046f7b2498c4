package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/image/draw"

	"github.com/laned/laned/internal/demo"
	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/models"
	"github.com/laned/laned/internal/replay"
	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/pipeline"
)

func init() {
	register(&command{
		Name:  "demo",
		Short: "run a whole lane: generated passes of the sample photos through laned run, a local broker, laned tail",
		Usage: "[--out DIR]",
		Setup: func(fs *flag.FlagSet) runFunc {
			out := fs.String("out", "out/demo", "folder for the demo's run (a new sub-folder per run)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usageErrorf("unexpected arguments %q", args)
				}
				return runDemo(ctx, e, *out)
			}
		},
	})
}

// runDemo runs a whole lane on this machine:
//  1. people: faces cut from the face-api sample photos; most are enrolled
//     (a gallery folder, built into a signed bundle by `laned gallery build`
//     and imported by `laned gallery import`), two are strangers;
//  2. passes: vehicles carrying them through a camera's view (one per
//     variant: normal, glare, motion blur, night), written as a recording
//     (frames and sensors.csv) for replay;
//  3. a local mosquitto, `laned run` on the recording in real time (its
//     cameras replay the frames, replay.sensors the loops), and `laned tail`
//     printing each summary as the central office receives it;
//  4. a closing table of vehicles, occupants, decisions and latencies.
//
// Everything goes into a new folder under outDir; nothing is written
// through a symbolic link or over an existing file.
func runDemo(ctx context.Context, e *env, outDir string) error {
	if fi, err := os.Lstat(outDir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("demo: %s is a symbolic link; give a real folder", outDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dir, err := filepath.Abs(filepath.Join(outDir, time.Now().UTC().Format("20060102T150405")))
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	step := func(f string, a ...any) { fmt.Fprintf(e.Stdout, "\n== "+f+"\n", a...) }

	step("people: faces from the face-api sample photos")
	enrolled, strangers, err := demoPeople(e, filepath.Join(dir, "gallery"))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%d enrolled, %d strangers (gallery photos in %s)\n", len(enrolled), len(strangers), filepath.Join(dir, "gallery"))

	step("gallery: laned gallery keygen / build / import")
	sign, atRest, bundlePath := filepath.Join(dir, "signing.key"), filepath.Join(dir, "at-rest.key"), filepath.Join(dir, "gallery.bundle")
	state, sock := filepath.Join(dir, "state"), filepath.Join(dir, "laned.sock")
	for _, args := range [][]string{
		{"gallery", "keygen", "-o", sign},
		{"gallery", "keygen", "--storage", "-o", atRest},
		{"gallery", "build", "--from", filepath.Join(dir, "gallery"), "--key", sign, "-o", bundlePath, "--issuer", "laned demo", "--expires", "24h"},
	} {
		if err := demoRun(ctx, e, args); err != nil {
			return err
		}
	}
	if err := os.Mkdir(state, 0o700); err != nil {
		return err
	}
	if err := demoRun(ctx, e, []string{"gallery", "import", "--db", filepath.Join(state, "gallery.db"), "--key-file", atRest,
		"--trust", sign + ".pub", "--socket", sock, bundlePath}); err != nil {
		return err
	}

	step("passes: one vehicle per variant, and more")
	s, err := passgen.Generate(passgen.Config{Cameras: []string{"front"}, Seed: 11}, demoVehicles(enrolled, strangers))
	if err != nil {
		return err
	}
	s.Trail(3 * time.Second)
	rec := filepath.Join(dir, "pass")
	if err := replay.WriteScenario(s, rec); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%d vehicles, %d frames (%.0f s at %d fps) in %s\n", len(s.Vehicles()), s.Frames(), s.Duration().Seconds(), s.FPS(), rec)

	step("broker: a local mosquitto")
	b, err := demo.StartBroker(dir)
	if err != nil {
		return err
	}
	defer b.Stop()
	fmt.Fprintf(e.Stdout, "mosquitto on %s\n", b.URL())
	cfgPath := filepath.Join(dir, "laned.yaml")
	cfg := fmt.Sprintf(`site: demo
lane: L1
state_dir: %[1]s
uplink:
  brokers: [%[2]s]
gallery:
  key: {file: %[3]s}
  trust: [%[4]s]
health:
  thermal: none
localapi:
  socket: %[5]s
  group: "-"
console:
  socket_group: "-"
cameras:
  - {name: front, replay: %[6]s, fps: %[7]d, real_time: true}
replay:
  sensors: %[8]s
transactions:
  trigger: loop
metrics:
  address: "off"
`, state, b.URL(), atRest, sign+".pub", sock, filepath.Join(rec, "front"), s.FPS(), filepath.Join(rec, "sensors.csv"))
	if err := writeExcl(cfgPath, []byte(cfg)); err != nil {
		return err
	}
	if err := demoRun(ctx, e, []string{"config", "check", cfgPath}); err != nil {
		return err
	}
	col, err := demo.Collect(b.URL(), "laned/demo/L1/transactions")
	if err != nil {
		return err
	}
	defer col.Close()
	tctx, stopTail := context.WithCancel(ctx)
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		run(tctx, []string{"tail", "--broker", b.URL(), "--site", "demo", "--lane", "L1"}, e.Stdout, e.Stderr)
	}()
	defer func() { stopTail(); <-tailDone }()

	step("laned run --config %s (log: %s); laned tail shows each summary as it arrives", cfgPath, filepath.Join(dir, "laned.log"))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "laned.log"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	child := exec.Command(self, "run", "--config", cfgPath)
	child.Stdout, child.Stderr = logf, logf
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := child.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	n := len(s.Vehicles())
	deadline := time.Now().Add(s.Duration() + 90*time.Second)
	var got []demo.Received
	waitDone := make(chan struct{})
	go func() { got = col.Wait(n, deadline); close(waitDone) }()
	select {
	case <-waitDone:
	case err := <-exited:
		return fmt.Errorf("demo: laned run exited early (%v); see %s", err, filepath.Join(dir, "laned.log"))
	case <-ctx.Done():
		child.Process.Signal(syscall.SIGTERM)
		<-exited
		return ctx.Err()
	}
	time.Sleep(300 * time.Millisecond) // let laned tail print the last line
	child.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		fmt.Fprintf(e.Stderr, "laned run: %v (see %s)\n", err, filepath.Join(dir, "laned.log"))
	}

	step("vehicles")
	demo.Table(e.Stdout, s.Vehicles(), got)
	if len(got) < n {
		return fmt.Errorf("demo: %d of %d summaries arrived; see %s", len(got), n, filepath.Join(dir, "laned.log"))
	}
	return nil
}

// demoRun runs one laned command in this process.
func demoRun(ctx context.Context, e *env, args []string) error {
	fmt.Fprintf(e.Stdout, "$ laned %s\n", joinArgs(args))
	if code := run(ctx, args, e.Stdout, e.Stderr); code != 0 {
		return fmt.Errorf("demo: laned %s exited %d", args[0], code)
	}
	return nil
}

func joinArgs(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

// demoPeople cuts the usable faces of the sample photos (a head-and-
// shoulders crop each) and writes a gallery folder of the enrolled ones.
// The vehicle sees each person mirrored, as another camera would.
func demoPeople(e *env, galleryDir string) (enrolled, strangers []passgen.Person, err error) {
	set, err := models.OpenDefault()
	if err != nil {
		return nil, nil, err
	}
	p, err := pipeline.Open(set, pipeline.Options{})
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	if err := os.Mkdir(galleryDir, 0o700); err != nil {
		return nil, nil, err
	}
	for i := 1; i <= 6; i++ {
		path, err := set.Path(fmt.Sprintf("face-api/demo/sample%d.jpg", i))
		if err != nil {
			return nil, nil, err
		}
		img, err := imageio.Load(path)
		if err != nil {
			return nil, nil, err
		}
		fr, err := p.Process(img)
		if err != nil {
			img.Close()
			return nil, nil, err
		}
		k := 0
		for _, f := range fr.Faces {
			if f.Embedding == nil || k >= 2 {
				continue
			}
			k++
			b := f.Box
			cx, cy, side := (b.X0+b.X1)/2, (b.Y0+b.Y1)/2, 1.6*max(b.W(), b.H())
			r := image.Rect(int(cx-side/2), int(cy-side/2), int(cx+side/2), int(cy+side/2)).Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
			crop := img.Region(r)
			face, err := crop.ToImage()
			crop.Close()
			if err != nil {
				img.Close()
				return nil, nil, err
			}
			id := fmt.Sprintf("sample%d-%d", i, k)
			per := passgen.Person{ID: id, Face: mirror(face)}
			if k == 2 && len(strangers) < 2 && i%2 == 0 {
				strangers = append(strangers, per)
				continue
			}
			sd := filepath.Join(galleryDir, id)
			if err := os.Mkdir(sd, 0o700); err != nil {
				img.Close()
				return nil, nil, err
			}
			if err := writePNG(filepath.Join(sd, id+".png"), face); err != nil {
				img.Close()
				return nil, nil, err
			}
			per.Enrolled = true
			enrolled = append(enrolled, per)
		}
		img.Close()
	}
	if len(enrolled) < 4 || len(strangers) < 1 {
		return nil, nil, fmt.Errorf("demo: only %d enrolled and %d strangers found in the sample photos", len(enrolled), len(strangers))
	}
	return enrolled, strangers, nil
}

func mirror(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	w := b.Dx()
	for y := range b.Dy() {
		row := out.Pix[y*out.Stride : y*out.Stride+4*w]
		for x := range w / 2 {
			for c := range 4 {
				row[4*x+c], row[4*(w-1-x)+c] = row[4*(w-1-x)+c], row[4*x+c]
			}
		}
	}
	return out
}

// demoVehicles: one vehicle per variant, then a full car with a stranger.
func demoVehicles(en, st []passgen.Person) []passgen.Vehicle {
	pick := func(i int) passgen.Person { return en[i%len(en)] }
	return []passgen.Vehicle{
		{Occupants: []passgen.Person{pick(0), pick(1)}, Variant: passgen.Normal, Speed: 3, Gap: 3 * time.Second},
		{Occupants: []passgen.Person{pick(2), st[0]}, Variant: passgen.Glare, Speed: 3.5, Gap: 2 * time.Second},
		{Occupants: []passgen.Person{pick(3)}, Variant: passgen.Blur, Speed: 2, Gap: 2 * time.Second},
		{Occupants: []passgen.Person{pick(4), pick(5)}, Variant: passgen.Dark, Speed: 2.5, Gap: 2 * time.Second},
		{Occupants: []passgen.Person{pick(6), pick(7), st[len(st)-1], pick(8)}, Variant: passgen.Normal, Speed: 2.5, Gap: 2 * time.Second},
	}
}

func writeExcl(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writePNG(path string, img image.Image) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("demo: %s: %w", path, err)
	}
	return f.Close()
}
