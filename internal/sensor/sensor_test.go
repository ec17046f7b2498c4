package sensor_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/sensor/sensortest"
)

const chip = "gpiochip0"

type events struct {
	mu     sync.Mutex
	trs    []sensor.Transition
	faults []sensor.Fault
}

func (e *events) opts() sensor.Options {
	return sensor.Options{
		Clock: clock.Real{}, // inside a synctest bubble: virtual time
		OnTransition: func(t sensor.Transition) {
			e.mu.Lock()
			e.trs = append(e.trs, t)
			e.mu.Unlock()
		},
		OnFault: func(f sensor.Fault) {
			e.mu.Lock()
			e.faults = append(e.faults, f)
			e.mu.Unlock()
		},
	}
}

func (e *events) transitions() []sensor.Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sensor.Transition(nil), e.trs...)
}

func (e *events) faultList() []sensor.Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sensor.Fault(nil), e.faults...)
}

func loops() sensor.Config {
	return sensor.Config{Inputs: []sensor.InputConfig{
		{Name: "arrival", Role: sensor.RoleArrival, Chip: chip, Line: 17, Debounce: 30 * time.Millisecond, MaxPresence: 10 * time.Second},
		{Name: "departure", Role: sensor.RoleDeparture, Chip: chip, Line: 27, Debounce: 30 * time.Millisecond, MaxPresence: 10 * time.Second},
	}, Outputs: []sensor.OutputConfig{{Name: "strobe", Role: "strobe", Chip: chip, Line: 23, Active: "low"}}}
}

// run starts a bank on a fake board inside the current bubble.
func run(t *testing.T, cfg sensor.Config) (*sensortest.Board, *sensor.Bank, *events, func()) {
	t.Helper()
	board := sensortest.NewBoard(map[string]int{chip: 54})
	ev := &events{}
	b, err := sensor.NewBank(cfg, board, ev.opts())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	synctest.Wait()
	return board, b, ev, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		b.Close()
		b.Close()
	}
}

func TestDebounceBurstIsOneTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, _, ev, stop := run(t, loops())
		defer stop()
		time.Sleep(time.Second)
		t0 := time.Now()
		// 50 edges in 9.8 ms as the contact closes, settling active (high).
		board.Bounce(chip, 17, 50, 200*time.Microsecond, gpio.High, time.Sleep)
		time.Sleep(500 * time.Millisecond)
		// And 50 as it opens.
		t1 := time.Now()
		board.Bounce(chip, 17, 50, 200*time.Microsecond, gpio.Low, time.Sleep)
		time.Sleep(500 * time.Millisecond)
		trs := ev.transitions()
		if len(trs) != 2 {
			t.Fatalf("%d transitions from two 50-edge bursts, want 2: %v", len(trs), trs)
		}
		// Times are the bursts' first edges.
		// (A burst of 50 ending at the new level starts with an edge that
		// repeats the old one: the first change is the second edge, 200 µs in.)
		if !trs[0].Active || !trs[0].At.Equal(t0.Add(200*time.Microsecond)) || trs[1].Active || !trs[1].At.Equal(t1.Add(200*time.Microsecond)) {
			t.Errorf("transitions %v at +%v and +%v of the bursts", trs, trs[0].At.Sub(t0), trs[1].At.Sub(t1))
		}
		if f := ev.faultList(); len(f) != 0 {
			t.Errorf("faults from a bounce: %v", f)
		}
	})
}

func activeLow(c sensor.Config) sensor.Config {
	for i := range c.Inputs {
		c.Inputs[i].Active, c.Inputs[i].Pull = "low", "up"
	}
	return c
}

func TestDebounceBurstIsOneTransitionActiveLow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, _, ev, stop := run(t, activeLow(loops()))
		defer stop()
		time.Sleep(100 * time.Millisecond)
		board.Bounce(chip, 27, 50, 200*time.Microsecond, gpio.Low, time.Sleep)
		time.Sleep(100 * time.Millisecond)
		if trs := ev.transitions(); len(trs) != 1 || !trs[0].Active || trs[0].Input != "departure" {
			t.Fatalf("transitions %v, want departure active once", trs)
		}
	})
}

func TestStuckOnRaisedAndCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, b, ev, stop := run(t, activeLow(loops()))
		defer stop()
		board.Set(chip, 17, gpio.Low)
		t0 := time.Now()
		time.Sleep(10*time.Second + 200*time.Millisecond)
		fs := ev.faultList()
		if len(fs) != 1 || fs[0].Kind != sensor.FaultStuckOn || !fs[0].Raised {
			t.Fatalf("faults %v, want stuck-on raised", fs)
		}
		if late := fs[0].At.Sub(t0.Add(10 * time.Second)); late < 0 || late > 150*time.Millisecond {
			t.Errorf("stuck-on raised %v after max_presence", late)
		}
		if h := b.Health()[0]; len(h.Faults) != 1 || h.FaultCounts[sensor.FaultStuckOn] != 1 {
			t.Errorf("health %+v", h)
		}
		board.Set(chip, 17, gpio.High)
		time.Sleep(100 * time.Millisecond)
		fs = ev.faultList()
		if len(fs) != 2 || fs[1].Kind != sensor.FaultStuckOn || fs[1].Raised {
			t.Fatalf("faults %v, want stuck-on cleared", fs)
		}
		if h := b.Health()[0]; len(h.Faults) != 0 || h.FaultCounts[sensor.FaultStuckOn] != 1 {
			t.Errorf("health after recovery %+v", h)
		}
	})
}

func TestStuckOffRaisedAndCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, b, ev, stop := run(t, activeLow(loops()))
		defer stop()
		// The departure loop works; the arrival loop never reports.
		for i := 0; i < 3; i++ {
			time.Sleep(10 * time.Second)
			from := time.Now()
			board.Set(chip, 27, gpio.Low)
			time.Sleep(3 * time.Second)
			board.Set(chip, 27, gpio.High)
			time.Sleep(100 * time.Millisecond)
			b.VehicleSeen(from, time.Now())
		}
		fs := ev.faultList()
		if len(fs) != 1 || fs[0].Input != "arrival" || fs[0].Kind != sensor.FaultStuckOff || !fs[0].Raised {
			t.Fatalf("faults %v, want arrival stuck-off raised after 3 vehicles", fs)
		}
		board.Set(chip, 17, gpio.Low)
		time.Sleep(100 * time.Millisecond)
		fs = ev.faultList()
		if len(fs) != 2 || fs[1].Raised || fs[1].Kind != sensor.FaultStuckOff {
			t.Fatalf("faults %v, want stuck-off cleared when the loop works again", fs)
		}
	})
}

func TestChatterRaisedAndCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, b, ev, stop := run(t, activeLow(loops()))
		defer stop()
		// 300 edges 5 ms apart: 200 a second, above chatter_edges 100.
		board.Bounce(chip, 17, 300, 5*time.Millisecond, gpio.High, time.Sleep)
		time.Sleep(10 * time.Millisecond)
		fs := ev.faultList()
		if len(fs) != 1 || fs[0].Kind != sensor.FaultChatter || !fs[0].Raised {
			t.Fatalf("faults %v, want chatter raised", fs)
		}
		time.Sleep(1200 * time.Millisecond)
		fs = ev.faultList()
		if len(fs) != 2 || fs[1].Kind != sensor.FaultChatter || fs[1].Raised {
			t.Fatalf("faults %v, want chatter cleared after a quiet second", fs)
		}
		if h := b.Health()[0]; h.Edges != 300 || h.FaultCounts[sensor.FaultChatter] != 1 {
			t.Errorf("health %+v", h)
		}
	})
}

func TestOutputsHonourActiveLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, b, _, stop := run(t, loops())
		defer stop()
		s := b.Output("strobe")
		if s == nil || b.Output("status") != nil {
			t.Fatal("outputs by role")
		}
		if board.Level(chip, 23) != gpio.High { // active low, off
			t.Error("strobe not off (high) after configuration")
		}
		s.Set(true)
		if board.Level(chip, 23) != gpio.Low || !s.On() {
			t.Error("strobe on is not low")
		}
	})
}

func TestDirection(t *testing.T) {
	type step struct {
		in string
		on bool
		at float64 // seconds
	}
	tests := []struct {
		name  string
		steps []step
		flush float64 // Flush at this time (0: not)
		want  []sensor.Way
	}{
		{"forward", []step{{"arrival", true, 1}, {"departure", true, 2}, {"arrival", false, 3}, {"departure", false, 4}}, 0, []sensor.Way{sensor.Forward}},
		{"forward motorcycle (never on both)", []step{{"arrival", true, 1}, {"arrival", false, 1.5}, {"departure", true, 2.5}, {"departure", false, 3}}, 10, []sensor.Way{sensor.Forward}},
		{"motorcycle backs off the arrival loop", []step{{"arrival", true, 1}, {"arrival", false, 2}}, 10, []sensor.Way{sensor.BackedOut}},
		{"not yet flushed", []step{{"arrival", true, 1}, {"arrival", false, 2}}, 3, nil},
		{"backs out after reaching departure", []step{{"arrival", true, 1}, {"departure", true, 2}, {"departure", false, 3}, {"arrival", false, 4}}, 0, []sensor.Way{sensor.BackedOut}},
		{"backs off arrival, next car follows", []step{{"arrival", true, 1}, {"arrival", false, 2}, {"arrival", true, 3}, {"departure", true, 4}, {"arrival", false, 5}, {"departure", false, 6}}, 0, []sensor.Way{sensor.BackedOut, sensor.Forward}},
		{"too long a gap is two events", []step{{"arrival", true, 1}, {"arrival", false, 2}, {"departure", true, 9}, {"departure", false, 10}}, 20, []sensor.Way{sensor.BackedOut, sensor.BackedOut}},
		{"wrong way", []step{{"departure", true, 1}, {"arrival", true, 2}, {"departure", false, 3}, {"arrival", false, 4}}, 0, []sensor.Way{sensor.Reverse}},
		{"two cars nose to tail", []step{{"arrival", true, 1}, {"departure", true, 2}, {"arrival", false, 3}, {"arrival", true, 4}, {"departure", false, 5}, {"departure", true, 6}, {"arrival", false, 7}, {"departure", false, 8}}, 0, []sensor.Way{sensor.Forward}},
		{"repeated levels ignored", []step{{"arrival", true, 1}, {"arrival", true, 2}, {"departure", true, 3}, {"arrival", false, 4}, {"departure", false, 5}, {"departure", false, 6}}, 0, []sensor.Way{sensor.Forward}},
		{"other inputs ignored", []step{{"curtain", true, 1}, {"curtain", false, 2}}, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := sensor.NewDirection("arrival", "departure")
			at := func(s float64) time.Time { return time.Unix(0, 0).Add(time.Duration(s * float64(time.Second))) }
			var got []sensor.Way
			for _, s := range tt.steps {
				if p, ok := d.Feed(sensor.Transition{Input: s.in, Active: s.on, At: at(s.at)}); ok {
					got = append(got, p.Way)
				}
			}
			if tt.flush > 0 {
				if p, ok := d.Flush(at(tt.flush)); ok {
					got = append(got, p.Way)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("passes %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("passes %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestConfigErrorsNameKeyAndDevice(t *testing.T) {
	good := loops()
	tests := []struct {
		name string
		mod  func(c *sensor.Config)
		want string
	}{
		{"duplicate input", func(c *sensor.Config) { c.Inputs[1].Name = "arrival" }, `sensors.inputs[1].name: "arrival" (gpiochip0 line 27) duplicate name; sensors.inputs[0] is also "arrival"`},
		{"line out of range", func(c *sensor.Config) { c.Inputs[1].Line = 5000 }, `sensors.inputs[1].line: "departure" (gpiochip0 line 5000) line 5000 out of range 0..1023`},
		{"same line twice", func(c *sensor.Config) { c.Inputs[1].Line = 17 }, `sensors.inputs[1].line: "departure" (gpiochip0 line 17) same line as sensors.inputs[0]`},
		{"bad active", func(c *sensor.Config) { c.Inputs[0].Active = "on" }, `sensors.inputs[0].active: "arrival" (gpiochip0 line 17) active "on"`},
		{"bad pull", func(c *sensor.Config) { c.Inputs[0].Pull = "sideways" }, `sensors.inputs[0].pull: "arrival" (gpiochip0 line 17) pull "sideways"`},
		{"two arrivals", func(c *sensor.Config) { c.Inputs[1].Role = sensor.RoleArrival }, `sensors.inputs: 2 inputs with role arrival`},
		{"output role", func(c *sensor.Config) { c.Outputs[0].Role = "siren" }, `sensors.outputs[0].role: "strobe" (gpiochip0 line 23) role "siren"`},
		{"debounce too long", func(c *sensor.Config) { c.Inputs[0].Debounce = 5 * time.Second }, `sensors.inputs[0].debounce:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Inputs = append([]sensor.InputConfig(nil), good.Inputs...)
			c.Outputs = append([]sensor.OutputConfig(nil), good.Outputs...)
			tt.mod(&c)
			err := c.WithDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant containing %s", err, tt.want)
			}
		})
	}
}

func TestNewBankMissingChipOrLine(t *testing.T) {
	tests := []struct {
		name  string
		chips map[string]int
		mod   func(c *sensor.Config)
		want  string
		is    error
	}{
		{"no gpio at all", map[string]int{}, nil, `sensors.inputs[0].chip: "arrival" (gpiochip0 line 17) no such GPIO chip "gpiochip0": this board has no GPIO character devices`, sensor.ErrNoChip},
		{"wrong chip", map[string]int{"gpiochip1": 32}, nil, `sensors.inputs[0].chip: "arrival" (gpiochip0 line 17) no such GPIO chip "gpiochip0"; the board has gpiochip1 [32 lines]`, sensor.ErrNoChip},
		{"line beyond chip", map[string]int{chip: 20}, nil, `sensors.inputs[1].line: "departure" (gpiochip0 line 27) no such GPIO line: gpiochip0 has lines 0..19`, sensor.ErrNoLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sensor.NewBank(loops(), sensortest.NewBoard(tt.chips), sensor.Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant containing %s", err, tt.want)
			}
			var fe *sensor.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("not a FieldError: %T", err)
			}
		})
	}
}

// TestChardevOnThisMachine exercises the real gpioioctl driver as far as
// a machine without GPIO allows: init succeeds, and asking for a line
// gives a clear error instead of a hang or a panic.
func TestChardevOnThisMachine(t *testing.T) {
	cd, err := sensor.OpenChardev()
	if err != nil {
		t.Fatal(err)
	}
	_, err = sensor.NewBank(loops(), cd, sensor.Options{})
	if err == nil {
		t.Skip("this machine has gpiochip0 with line 17 and 27: a real board")
	}
	t.Logf("real chardev: %v", err)
	if !errors.Is(err, sensor.ErrNoChip) && !errors.Is(err, sensor.ErrNoLine) && !strings.Contains(err.Error(), "configure input") {
		t.Errorf("unexpected error %v", err)
	}
}

func TestShippedBoardsLoad(t *testing.T) {
	for _, name := range []string{"rpi4-lane-hat", "x86-gpio-usb"} {
		b, err := sensor.LoadBoard("../../firmware-config/boards", name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c := sensor.Config{Board: name, Inputs: []sensor.InputConfig{{Name: "arrival", Role: sensor.RoleArrival, Chip: "gpiochip9", Line: 3}}}.WithBoard(b).WithDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: merged config: %v", name, err)
		}
		if c.Inputs[0].Chip != "gpiochip9" || len(c.Inputs) != len(b.Inputs) {
			t.Errorf("%s: merge replaced nothing: %+v", name, c.Inputs)
		}
	}
}

func TestCloseEndsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board := sensortest.NewBoard(map[string]int{chip: 54})
		b, err := sensor.NewBank(loops(), board, sensor.Options{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- b.Run(context.Background()) }()
		time.Sleep(time.Second)
		b.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := b.Run(context.Background()); err != nil {
			t.Fatal("Run after Close:", err)
		}
	})
}
