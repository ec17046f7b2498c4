package sensor

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// Lines finds a GPIO line by chip and offset.
type Lines interface {
	// Line returns the line, or an error wrapping ErrNoChip or ErrNoLine
	// that says what the board has.
	Line(chip string, line int) (gpio.PinIO, error)
}

var (
	ErrNoChip = errors.New("no such GPIO chip")
	ErrNoLine = errors.New("no such GPIO line")
)

// Chardev is the Linux GPIO character device (/dev/gpiochipN) through
// periph's gpioioctl driver (v3.8.3 and later use the v2 uAPI).
type Chardev struct{}

var initOnce = sync.OnceValue(func() error {
	_, err := driverreg.Init()
	return err
})

// OpenChardev initialises periph's drivers. It succeeds on a board with
// no GPIO chip at all (periph does); Line then says so.
func OpenChardev() (*Chardev, error) {
	if err := initOnce(); err != nil {
		return nil, fmt.Errorf("gpio: periph init: %w", err)
	}
	return &Chardev{}, nil
}

// Line implements Lines. chip matches a chip's name (gpiochip0), label
// (pinctrl-bcm2711) or path (/dev/gpiochip0).
func (Chardev) Line(chip string, line int) (gpio.PinIO, error) {
	if len(gpioioctl.Chips) == 0 {
		return nil, fmt.Errorf("%w %q: this board has no GPIO character devices (/dev/gpiochip*)", ErrNoChip, chip)
	}
	var have []string
	for _, c := range gpioioctl.Chips {
		if c.Name() != chip && c.Label() != chip && c.Path() != chip {
			have = append(have, fmt.Sprintf("%s [%s, %d lines]", c.Name(), c.Label(), c.LineCount()))
			continue
		}
		if line < 0 || line >= c.LineCount() {
			return nil, fmt.Errorf("%w: %s [%s] has lines 0..%d", ErrNoLine, c.Name(), c.Label(), c.LineCount()-1)
		}
		l := c.ByNumber(line)
		if l == nil {
			return nil, fmt.Errorf("%w: %s has no line %d", ErrNoLine, c.Name(), line)
		}
		return l, nil
	}
	return nil, fmt.Errorf("%w %q; the board has %s", ErrNoChip, chip, strings.Join(have, ", "))
}
