package sensortest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/laned/laned/internal/sensor"
)

// Board is a fake set of GPIO chips. It implements sensor.Lines.
type Board struct {
	mu    sync.Mutex
	chips map[string]int
	pins  map[string]*gpiotest.Pin
}

// NewBoard returns a board with the named chips and their line counts.
func NewBoard(chips map[string]int) *Board {
	return &Board{chips: chips, pins: map[string]*gpiotest.Pin{}}
}

func key(chip string, line int) string { return fmt.Sprintf("%s/%d", chip, line) }

// Line implements sensor.Lines with the same errors as the real chardev.
func (b *Board) Line(chip string, line int) (gpio.PinIO, error) {
	return b.pin(chip, line)
}

func (b *Board) pin(chip string, line int) (*gpiotest.Pin, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, ok := b.chips[chip]
	if !ok {
		var have []string
		for c, k := range b.chips {
			have = append(have, fmt.Sprintf("%s [%d lines]", c, k))
		}
		sort.Strings(have)
		if len(have) == 0 {
			return nil, fmt.Errorf("%w %q: this board has no GPIO character devices (/dev/gpiochip*)", sensor.ErrNoChip, chip)
		}
		return nil, fmt.Errorf("%w %q; the board has %s", sensor.ErrNoChip, chip, strings.Join(have, ", "))
	}
	if line < 0 || line >= n {
		return nil, fmt.Errorf("%w: %s has lines 0..%d", sensor.ErrNoLine, chip, n-1)
	}
	k := key(chip, line)
	p := b.pins[k]
	if p == nil {
		p = &gpiotest.Pin{N: k, Num: line, EdgesChan: make(chan gpio.Level, 4096)}
		b.pins[k] = p
	}
	return p, nil
}

// Pin returns the fake line (made on first use).
func (b *Board) Pin(chip string, line int) *gpiotest.Pin {
	p, err := b.pin(chip, line)
	if err != nil {
		panic(err)
	}
	return p
}

// Set drives an input line to l, with an edge.
func (b *Board) Set(chip string, line int, l gpio.Level) {
	b.Pin(chip, line).EdgesChan <- l
}

// Level is an output line's current level.
func (b *Board) Level(chip string, line int) gpio.Level {
	p := b.Pin(chip, line)
	p.Lock()
	defer p.Unlock()
	return p.L
}

// Bounce sends n edges alternating from the opposite of final, spaced by
// gap on the caller's clock (sleep is time.Sleep in a synctest bubble),
// ending at final: a contact that bounces as it closes or opens.
func (b *Board) Bounce(chip string, line int, n int, gap time.Duration, final gpio.Level, sleep func(time.Duration)) {
	for i := 0; i < n; i++ {
		l := final
		if (n-1-i)%2 == 1 {
			l = !final
		}
		b.Set(chip, line, l)
		if i < n-1 {
			sleep(gap)
		}
	}
}
