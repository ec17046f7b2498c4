package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// comments documents every key of the file, by path; Example prints them
// above the keys. TestExampleFullyCommented fails for a key without one.
var comments = map[string]string{
	"site":      "The lane's identity: in every topic ({prefix}/{site}/{lane}/...) and payload.\n[A-Za-z0-9][A-Za-z0-9._-]{0,63}. Required.",
	"lane":      "Required, like site.",
	"state_dir": "Where the outbox, the gallery store and the sync state live unless\ntheir paths are set.",

	"uplink":                     "MQTT uplink to the central office (docs/uplink.md).",
	"uplink.brokers":             "Brokers, tried in order then round again: ssl://host:8883 (tls://, mqtts://)\nor tcp://host:1883 (mqtt://). At least one.",
	"uplink.prefix":              "First topic levels.",
	"uplink.client_id":           "MQTT client id; empty: laned-{site}-{lane}.",
	"uplink.username":            "MQTT user name; empty: none.",
	"uplink.password":            "Prefer password_file or password_credential: this file is often readable by more\npeople than the password should be.",
	"uplink.password_file":       "File whose first line is the password (0600).",
	"uplink.password_credential": "systemd credential holding the password ($CREDENTIALS_DIRECTORY/NAME).",
	"uplink.tls":                 "TLS for ssl:// brokers.",
	"uplink.tls.ca":              "PEM CA bundle to trust; empty: the system roots.",
	"uplink.tls.cert":            "Client certificate (PEM), with key.",
	"uplink.tls.key":             "Client key (PEM, 0600).",
	"uplink.tls.server_name":     "Host name to verify in the broker's certificate; empty: the URL's host.",
	"uplink.keepalive":           "MQTT keepalive.",
	"uplink.connect_timeout":     "Bound on one connection attempt.",
	"uplink.in_flight":           "Messages waiting for their PUBACK at once (1: strict order on the wire).",
	"uplink.backoff_min":         "Reconnect delay: doubles from backoff_min to backoff_max after each round\nof failed brokers, randomised by ±jitter.",
	"uplink.backoff_max":         "Longest reconnect delay.",
	"uplink.jitter":              "Randomises each delay by ± this fraction (0..1).",
	"uplink.max_payload":         "Larger payloads are quarantined, never sent; keep it at or below the\nbroker's message_size_limit.",

	"outbox":                 "Durable queue of messages waiting for a PUBACK.",
	"outbox.path":            "bbolt file; default STATE_DIR/outbox.db.",
	"outbox.max_bytes":       "Bound on stored messages; over it health reports go first, then events.",
	"outbox.max_payload":     "Larger payloads are refused.",
	"outbox.summary_max_age": "Age after which a message is dropped unsent; negative: never.",
	"outbox.event_max_age":   "Events are dropped unsent after this.",
	"outbox.health_max_age":  "Health reports too (only the latest one matters).",
	"outbox.at_bound":        "When only summaries are left at the bound: refuse-new (nothing committed\nis lost) or drop-oldest.",
	"outbox.max_quarantine":  "Messages the broker kept refusing, kept for inspection.",

	"gallery":                      "The gallery the lane matches against (docs/gallery-bundle.md).",
	"gallery.db":                   "Encrypted bbolt store; default STATE_DIR/gallery.db.",
	"gallery.key":                  "At-rest key (32 bytes): a 0600 file or a systemd credential, one of the two.",
	"gallery.key.file":             "Path of the key file (0600).",
	"gallery.key.credential":       "systemd credential name ($CREDENTIALS_DIRECTORY/NAME).",
	"gallery.trust":                "Public keys trusted to sign gallery bundles.",
	"gallery.max_age":              "A gallery older than this (since it was created) reports degraded.",
	"gallery.sync":                 "Nightly pull from the central office.",
	"gallery.sync.url":             "https:// URL of the bundle; empty: no nightly sync (imports only).",
	"gallery.sync.state":           "Partial download and ETag; default STATE_DIR/gallery-sync.",
	"gallery.sync.ca":              "PEM CA bundle to trust; empty: the system roots.",
	"gallery.sync.cert":            "Client certificate (PEM), with key.",
	"gallery.sync.key":             "Client key (PEM, 0600).",
	"gallery.sync.connect_timeout": "Dial, TLS handshake and response headers.",
	"gallery.sync.timeout":         "Whole download.",
	"gallery.sync.window_start":    "The sync runs at a random point of a window starting this long after\nlocal midnight, retrying a failure while the window lasts.",
	"gallery.sync.window_length":   "Length of the window.",
	"gallery.sync.retry":           "Wait after a failed sync before the next try in the window.",
	"gallery.sync.time_zone":       "IANA zone of the window; Local: the system's.",

	"health":               "Health tracker: reports to the central office, local API and console.",
	"health.interval":      "Between health reports; negative: none.",
	"health.disk_min_free": "Bytes free on state_dir below which the lane reports degraded.",
	"health.thermal":       "Board temperature, millidegrees Celsius; none: not read.",
	"health.temp_max":      "°C above which the lane reports degraded.",
	"health.uplink_grace":  "How long the uplink may be disconnected before it counts as degraded.",

	"events":             "Fault and audit events, through the outbox.",
	"events.flap_window": "A fault raised again this soon after it was resolved is flapping: reported\nonce when it has been quiet this long.",
	"events.burst":       "Fault events allowed at once, then one per refill.",
	"events.refill":      "One more fault event is allowed per this interval.",

	"localapi":        "Local API (HTTP over a Unix socket) for the laned commands (docs/local-api.md).",
	"localapi.socket": "Socket path (mode 0660).",
	"localapi.group":  "Group that may connect; - : the daemon's own group.",

	"vision":                          "Face detection, quality gate and matching.",
	"vision.engine":                   "Inference engine: onednn or opencv.",
	"vision.detector_min_face":        "Smallest face side (px) the detector searches down to; -1: no tiling.",
	"vision.quality":                  "Quality gate; each threshold left out keeps its own default.",
	"vision.quality.min_eye_distance": "px between the eyes.",
	"vision.quality.min_sharpness":    "Variance of the Laplacian over a 96×96 gray patch.",
	"vision.quality.min_brightness":   "Mean gray level bounds (0–255).",
	"vision.quality.max_brightness":   "Upper bound of the mean gray level.",
	"vision.quality.max_clipped":      "Largest share of pixels at ≤5 or ≥250.",
	"vision.quality.max_yaw":          "Degrees either way; 90: off.",
	"vision.match_threshold":          "Largest distance between normalised templates that counts as a match.",
	"cameras":                         "The lane's cameras (package camera; docs/lane.md). None: no lane runs, the\ndaemon serves the gallery, outbox and uplink only. One entry per camera:\n  - {name: front, device: /dev/v4l/by-id/usb-...-video-index0, profile: lane-1080p,\n     width: 1280, height: 720, fps: 15}\nor, to play a recording (laned record), replay: DIR instead of device:\n(real_time: true paces it at fps).",
	"sensors":                         "Presence inputs on GPIO (package sensor): loops, light curtains.",
	"sensors.board":                   "Board profile in firmware-config/boards/ whose inputs and outputs apply first.",
	"sensors.inputs":                  "Inputs: {name: arrival, role: arrival, chip: gpiochip0, line: 17, active: low,\npull: up}; names are those transactions.arrival_input/departure_input use.",
	"sensors.outputs":                 "Optional outputs: {name: strobe, role: strobe, chip: gpiochip0, line: 22}.",
	"triggers":                        "Video triggers (virtual loops, package trigger): {name: video, camera: front,\nregion: {x: 0, y: 0.5, w: 1, h: 0.4}}. Default: one over the first camera's\nwhole frame, named transactions.video_input.",

	"transactions":                   "The transaction engine: one summary per vehicle (package lane).",
	"transactions.trigger":           "Presence from loop (the arrival/departure inputs, the video trigger while a\nloop is faulted) or video (no loops). Default loop, or video when no sensor\ninputs are configured.",
	"transactions.arrival_input":     "Input whose rising level opens a vehicle.",
	"transactions.departure_input":   "Input whose falling level ends it (same as arrival_input: one-loop lane).",
	"transactions.video_input":       "Name of the video trigger's presence signal.",
	"transactions.cameras":           "Capture zones: {name: front, zone: {x0: 0.1, y0: 0, x1: 0.9, y1: 1}, edge_margin: 2};\na face outside the zone is ignored. Default: every camera, whole frame.",
	"transactions.pre_margin":        "Frames captured this long before the arrival still count.",
	"transactions.post_margin":       "Capture goes on this long after the departure.",
	"transactions.max_capture":       "Longest capture of one vehicle (end max_capture).",
	"transactions.max_presence":      "A loop active longer is stuck on: fault event, video fallback.",
	"transactions.camera_stall":      "No frame from a camera for this long is a camera fault.",
	"transactions.track_gap":         "A face track not seen for this long ends.",
	"transactions.track_distance":    "A detection joins a track within this many face widths of its prediction.",
	"transactions.min_faces":         "Detections a track without a usable shot needs to count as an occupant.",
	"transactions.best_k":            "Best shots kept and embedded per occupant.",
	"transactions.hysteresis":        "A new shot replaces a kept one only when better by this quality score.",
	"transactions.embed_budget":      "Templates computed per occupant at most.",
	"transactions.reembed_margin":    "A shot this much better than the best embedded one is embedded at once.",
	"transactions.fusion":            "mean (average the best templates) or vote.",
	"transactions.match_threshold":   "Cosine score at or above which an occupant is a match.",
	"transactions.unknown_threshold": "Below this a no_match; in between a candidate (a score, never an identity).",
	"transactions.merge_threshold":   "Tracks this similar (two cameras, a gap) are one person.",
	"transactions.top_candidates":    "Candidates (subject, score) listed per occupant (1–5).",
	"transactions.evidence":          "Keep an encrypted crop of each no_match occupant for review (TTL ≤ 12 h).\nOff by default: nothing biometric is written to disk.",
	"transactions.shutdown_timeout":  "At shutdown the open vehicle is finished within this.",

	"replay":         "Recorded inputs instead of hardware (lab, demo).",
	"replay.sensors": "sensors.csv (t_ms,input,level) played instead of GPIO inputs, t_ms from the\ndaemon's start; empty: none.",

	"metrics":         "Prometheus metrics (docs/metrics.md).",
	"metrics.address": "host:port of the /metrics endpoint (keep it local); off: none.",
}

// ExampleConfig is the configuration Example prints: the defaults, with
// placeholders for what has none.
func ExampleConfig() Config {
	c := Config{Site: "north-crossing", Lane: "L1"}
	c.Uplink.Brokers = []string{"ssl://broker.example:8883"}
	return c.WithDefaults()
}

// Example returns ExampleConfig as a fully commented YAML file, for
// `laned config example`.
func Example() string {
	c := ExampleConfig()
	c.Uplink.ClientID = "" // derived from site and lane unless set
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{node(reflect.ValueOf(c), "")},
		HeadComment: "laned configuration (laned config example). Every key is shown with its\ndefault; `laned config check FILE` checks a file. Keys left out take\nthe defaults shown here, one by one.\n"}
	var b strings.Builder
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(doc); err != nil {
		panic(fmt.Sprintf("config: example: %v", err)) // only a bug here can do this
	}
	e.Close()
	return b.String()
}

var durationType = reflect.TypeOf(time.Duration(0))

// node builds the YAML node of v (a config value), with comments.
func node(v reflect.Value, path string) *yaml.Node {
	switch {
	case v.Type() == durationType:
		return scalar("!!str", fmtDuration(time.Duration(v.Int())))
	case v.Kind() == reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			p := join(path, name)
			k := scalar("!!str", name)
			k.HeadComment = comments[p]
			m.Content = append(m.Content, k, node(v.Field(i), p))
		}
		return m
	case v.Kind() == reflect.Map: // sorted keys: a stable example
		m := &yaml.Node{Kind: yaml.MappingNode}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			p := join(path, k.String())
			kn := scalar("!!str", k.String())
			kn.HeadComment = comments[p]
			m.Content = append(m.Content, kn, node(v.MapIndex(k), p))
		}
		return m
	case v.Kind() == reflect.Slice:
		s := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := range v.Len() {
			s.Content = append(s.Content, node(v.Index(i), path))
		}
		return s
	case v.Kind() == reflect.String:
		n := scalar("!!str", v.String())
		if v.String() == "" {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case v.CanInt():
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case v.CanFloat():
		return scalar("", strconv.FormatFloat(v.Float(), 'g', -1, 64)) // untagged: 24, not !!float 24
	}
	panic("config: example: unsupported " + v.Type().String())
}

func scalar(tag, s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s} }

// fmtDuration writes d the shortest way time.ParseDuration reads back.
func fmtDuration(d time.Duration) string {
	s := d.String() // "3h0m0s" → "3h", "1m0s" → "1m"
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
