package uplink_test

import (
	"fmt"

	"github.com/laned/laned/internal/uplink"
)

func ExampleParseConfig() {
	_, err := uplink.ParseConfig([]byte(`
brokers: [ssl://broker.example]
in_flight: 0
password: s3cret
`), "north", "L2")
	fmt.Println(err)
	c, _ := uplink.ParseConfig([]byte("brokers: [tcp://broker.example:1883]\n"), "north", "L2")
	fmt.Println(c.ClientID, c.InFlight, c.KeepAlive, c.BackoffMin, c.BackoffMax)
	// Output:
	// uplink.brokers[0]: "ssl://broker.example" has no port
	// uplink.username: a password needs a username
	// laned-north-L2 64 30s 500ms 1m0s
}
