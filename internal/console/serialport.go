package console

import (
	"fmt"

	"go.bug.st/serial"
)

// OpenSerial opens a serial device at baud, 8N1, with go.bug.st/serial,
// and returns it with its close function.
func OpenSerial(device string, baud int) (SerialPort, func() error, error) {
	p, err := serial.Open(device, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, nil, fmt.Errorf("serial %s: %w", device, err)
	}
	return p, p.Close, nil
}
