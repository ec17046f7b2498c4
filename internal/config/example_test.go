package config_test

import (
	"fmt"

	"github.com/laned/laned/internal/config"
)

func ExampleParse() {
	c, err := config.Parse([]byte(`
site: north-crossing
lane: L2
uplink: {brokers: ["ssl://broker.example:8883"]}
vision:
  quality: {min_sharpness: 80}   # the other thresholds keep their defaults
`))
	fmt.Println(err, c.Uplink.ClientID, c.Vision.Quality.MinSharpness, c.Vision.Quality.MaxBrightness, c.Outbox.Path)
	_, err = config.Parse([]byte("site: a\nlane: b\nuplink: {brokers: [\"tcp://a:1\"]}\ngallery: {sync: {window: 2h}}\n"))
	fmt.Println(err)
	// Output:
	// <nil> laned-north-crossing-L2 80 235 /var/lib/laned/outbox.db
	// gallery.sync.window: unknown key (line 4); did you mean "window_length" or "window_start"?
}
