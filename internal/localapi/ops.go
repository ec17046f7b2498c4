package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/laned/laned/internal/console"
)

// Ops is what a daemon answers for the technician console without a lane:
// status, gallery, outbox, models, configuration, logs, events and the
// commissioning checks. The daemon implements it over its components.
type Ops interface {
	console.StatusBackend
	console.GalleryBackend
	console.OutboxBackend
	console.SystemBackend
}

// Lane is what the lane engine registers with SetLane: cameras, sensors
// and the test vehicle. Until it does, those routes answer ErrNoLane.
type Lane interface {
	console.CameraBackend
	console.SensorBackend
	console.LaneBackend
}

// ErrNoLane is the answer of the camera, sensor and trigger routes of a
// daemon that runs no lane.
var ErrNoLane = errors.New("no lane running in this daemon: cameras, sensors, snapshot, focus and trigger test need the lane engine")

// Routes are the console routes of a server, from ServeOps.
type Routes struct {
	ops  Ops
	lane atomic.Pointer[laneBox]
}

type laneBox struct{ Lane }

// SetLane registers the lane's cameras and sensors (nil: none again).
func (r *Routes) SetLane(l Lane) {
	if l == nil {
		r.lane.Store(nil)
		return
	}
	r.lane.Store(&laneBox{l})
}

// HasLane reports whether a lane is registered.
func (r *Routes) HasLane() bool { return r.lane.Load() != nil }

// maxBody bounds a JSON request body of the console routes.
const maxBody = 1 << 16

// ServeOps registers the console routes over ops. Call it once, before Run.
func (s *Server) ServeOps(ops Ops) *Routes {
	r := &Routes{ops: ops}
	// value answers a request with one JSON value.
	value := func(pattern string, fn func(req *http.Request) (any, error)) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) {
			v, err := fn(req)
			if err != nil {
				code := http.StatusInternalServerError
				if errors.Is(err, ErrNoLane) {
					code = http.StatusServiceUnavailable
				}
				fail(w, code, err)
				return
			}
			reply(w, http.StatusOK, v)
		})
	}
	lane := func() (Lane, error) {
		if b := r.lane.Load(); b != nil {
			return b.Lane, nil
		}
		return nil, ErrNoLane
	}
	value("GET /v1/console/status", func(q *http.Request) (any, error) { return ops.Status(q.Context()) })
	value("GET /v1/gallery/info", func(q *http.Request) (any, error) { return ops.GalleryInfo(q.Context()) })
	value("POST /v1/gallery/sync", func(q *http.Request) (any, error) { return ops.GallerySync(q.Context()) })
	value("POST /v1/gallery/import-file", func(q *http.Request) (any, error) {
		var in struct{ Path string }
		if err := decodeBody(q, &in); err != nil {
			return nil, err
		}
		return ops.GalleryImport(withActor(q), in.Path)
	})
	value("GET /v1/outbox/info", func(q *http.Request) (any, error) { return ops.Outbox(q.Context()) })
	value("POST /v1/outbox/retry", func(q *http.Request) (any, error) { return ops.OutboxRetry(withActor(q)) })
	value("GET /v1/models", func(q *http.Request) (any, error) { return ops.Models(q.Context()) })
	value("GET /v1/config", func(q *http.Request) (any, error) {
		c, err := ops.Config(q.Context())
		if err != nil {
			return nil, err
		}
		return console.NewRedactor().Tree(c), nil // secrets never leave the daemon
	})
	value("GET /v1/selftest", func(q *http.Request) (any, error) { return ops.Selftest(q.Context()) })
	stream(s, "GET /v1/log", func(q *http.Request, n int, follow bool, emit func(any) error) error {
		return ops.LogTail(q.Context(), n, follow, func(l string) error { return emit(l) })
	})
	stream(s, "GET /v1/events", func(q *http.Request, n int, follow bool, emit func(any) error) error {
		return ops.Events(q.Context(), n, follow, func(e console.Event) error { return emit(e) })
	})

	value("GET /v1/cameras", func(q *http.Request) (any, error) {
		l, err := lane()
		if err != nil {
			return nil, err
		}
		return l.Cameras(q.Context())
	})
	value("POST /v1/cameras/{cam}/controls/{ctl}", func(q *http.Request) (any, error) {
		l, err := lane()
		if err != nil {
			return nil, err
		}
		var in struct{ Value int64 }
		if err := decodeBody(q, &in); err != nil {
			return nil, err
		}
		return l.SetControl(withActor(q), q.PathValue("cam"), q.PathValue("ctl"), in.Value)
	})
	value("GET /v1/cameras/{cam}/snapshot", func(q *http.Request) (any, error) {
		l, err := lane()
		if err != nil {
			return nil, err
		}
		return l.Snapshot(withActor(q), q.PathValue("cam"))
	})
	stream(s, "GET /v1/cameras/{cam}/focus", func(q *http.Request, _ int, _ bool, emit func(any) error) error {
		l, err := lane()
		if err != nil {
			return err
		}
		return l.Focus(q.Context(), q.PathValue("cam"), func(f console.FocusReading) error { return emit(f) })
	})
	value("GET /v1/sensors", func(q *http.Request) (any, error) {
		l, err := lane()
		if err != nil {
			return nil, err
		}
		return l.Sensors(q.Context())
	})
	stream(s, "GET /v1/sensors/watch", func(q *http.Request, _ int, _ bool, emit func(any) error) error {
		l, err := lane()
		if err != nil {
			return err
		}
		return l.WatchSensors(q.Context(), func(e console.SensorEdge) error { return emit(e) })
	})
	value("POST /v1/trigger/test", func(q *http.Request) (any, error) {
		l, err := lane()
		if err != nil {
			return nil, err
		}
		return l.TriggerTest(withActor(q))
	})
	return r
}

func decodeBody(q *http.Request, v any) error {
	d := json.NewDecoder(io.LimitReader(q.Body, maxBody))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

type actorKey struct{}

// withActor puts who asked into the context for audit records: the local
// API peer, and the console user it names when that peer runs as the
// daemon's own user (its console server, the laned-console unit).
func withActor(q *http.Request) context.Context {
	actor := "unknown"
	if c, ok := Peer(q.Context()); ok {
		actor = c.Actor()
		if u := q.Header.Get(consoleUserHeader); u != "" && c.UID == os.Geteuid() {
			actor = "console " + u
		}
	}
	return context.WithValue(q.Context(), actorKey{}, actor)
}

// Actor returns who asked, for the Ops and Lane methods: "uid:N" of the
// local API peer, or "console alice (serial /dev/ttyS0)" ("" outside a
// request).
func Actor(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// line is one line of a streamed answer (newline-delimited JSON): a value,
// or the error that ended the stream.
type line struct {
	V     json.RawMessage `json:"v,omitempty"`
	Error string          `json:"error,omitempty"`
}

// stream serves newline-delimited JSON lines, flushed one by one, until fn
// returns (or the client goes away, which cancels the request context).
func stream(s *Server, pattern string, fn func(q *http.Request, n int, follow bool, emit func(any) error) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, q *http.Request) {
		n, _ := strconv.Atoi(q.URL.Query().Get("n"))
		if n <= 0 || n > 10000 {
			n = 50
		}
		follow := q.URL.Query().Get("follow") == "1"
		w.Header().Set("Content-Type", "application/x-ndjson")
		fl, _ := w.(http.Flusher)
		enc := json.NewEncoder(w)
		started := false
		emit := func(v any) error {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			started = true
			if err := enc.Encode(line{V: b}); err != nil {
				return err
			}
			if fl != nil {
				fl.Flush()
			}
			return nil
		}
		err := fn(q, n, follow, emit)
		if err != nil && q.Context().Err() == nil {
			if !started && errors.Is(err, ErrNoLane) {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			enc.Encode(line{Error: err.Error()})
		}
	})
}
