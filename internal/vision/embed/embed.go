package embed

import (
	"errors"
	"fmt"
	"image"
	"os"
	"slices"
	"sync"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/models/convert"
	"github.com/laned/laned/internal/models/onnx"
	"github.com/laned/laned/internal/vision"
	"github.com/laned/laned/internal/vision/onednn"
)

// ModelID names the templates this embedder makes; a gallery built with
// another model must not be matched against them.
const ModelID = "face-api-1.7.15/face_recognition_model"

// Dim is the template length.
const Dim = convert.Dim

// ChipSide is the side of the aligned chip the net takes.
const ChipSide = convert.InputSide

// maxModelBytes bounds the model file read into memory (the net is ~23 MB).
const maxModelBytes = 256 << 20

// Engine names the inference engine that runs the recognition net.
type Engine = vision.Engine

// The engines; see vision.Engine.
const (
	EngineOneDNN = vision.EngineOneDNN
	EngineOpenCV = vision.EngineOpenCV
)

// ParseEngine accepts "" (the default), "onednn" or "opencv".
func ParseEngine(s string) (Engine, error) { return vision.ParseEngine(s) }

// Options tunes an Embedder; the zero value is the default.
type Options struct {
	Engine Engine // "" means EngineOneDNN
}

// forwarder runs the net on a 1×3×150×150 blob and returns its 128 values.
type forwarder interface {
	forward(blob gocv.Mat) ([]float32, error)
	Close() error
}

// Embedder computes templates. It is safe for concurrent use; calls are
// serialised.
type Embedder struct {
	mu     sync.Mutex
	fwd    forwarder
	engine Engine
	closed bool
}

// Open loads the converted recognition model at path on the default engine.
func Open(path string) (*Embedder, error) { return OpenWith(path, Options{}) }

// OpenWith loads the converted recognition model at path. The file is
// parsed and its whole graph checked (operators, attributes, shapes, the
// 1×3×150×150 input and 1×128 output) before an engine reads it: OpenCV
// aborts the process on a model it cannot build, so a damaged or foreign
// file must be an error here. Whether the weights are the pinned ones is
// the model set's check (models.Set.Path verifies the sha256).
func OpenWith(path string, opts Options) (*Embedder, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open recognition model: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 || st.Size() > maxModelBytes {
		return nil, fmt.Errorf("open recognition model %s: not a regular file of 1..%d bytes", path, maxModelBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open recognition model: %w", err)
	}
	e, err := load(data, opts)
	if err != nil {
		return nil, fmt.Errorf("open recognition model %s: %w", path, err)
	}
	return e, nil
}

// load checks a serialised model and hands it to the engine.
func load(data []byte, opts Options) (*Embedder, error) {
	engine, err := ParseEngine(string(opts.Engine))
	if err != nil {
		return nil, err
	}
	m, err := onnx.Parse(data)
	if err != nil {
		return nil, err
	}
	if err := checkIO(m); err != nil {
		return nil, err
	}
	var fwd forwarder
	switch engine {
	case EngineOpenCV:
		fwd, err = openCV(data)
	default:
		var n *onednn.Net
		if n, err = onednn.Load(m); err == nil {
			fwd = oneDNN{n}
		}
	}
	if err != nil {
		return nil, err
	}
	return &Embedder{fwd: fwd, engine: engine}, nil
}

// Engine reports the engine the embedder runs on.
func (e *Embedder) Engine() Engine { return e.engine }

// cvNet runs the net on OpenCV's DNN module.
type cvNet struct{ net gocv.Net }

func openCV(data []byte) (cvNet, error) {
	net, err := gocv.ReadNetFromONNXBytes(data)
	if err != nil {
		return cvNet{}, err
	}
	if net.Empty() {
		net.Close()
		return cvNet{}, errors.New("OpenCV loaded an empty network")
	}
	return cvNet{net}, nil
}

func (c cvNet) forward(blob gocv.Mat) ([]float32, error) {
	c.net.SetInput(blob, convert.InputName)
	out := c.net.Forward(convert.OutputName)
	defer out.Close()
	v, err := out.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	return slices.Clone(v), nil
}

func (c cvNet) Close() error { return c.net.Close() }

// oneDNN runs the net on package onednn.
type oneDNN struct{ n *onednn.Net }

func (o oneDNN) forward(blob gocv.Mat) ([]float32, error) {
	v, err := blob.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	return o.n.Forward(v)
}

func (o oneDNN) Close() error { return o.n.Close() }

// checkIO makes sure the graph is well formed and is the recogniser: one
// 1×3×150×150 input and one 1×128 output with the converter's names.
func checkIO(m *onnx.ModelProto) error {
	outs, err := onnx.Check(m)
	if err != nil {
		return err
	}
	g := m.Graph
	if len(g.Input) != 1 || g.Input[0].Name != convert.InputName || len(outs) != 1 || outs[convert.OutputName] == nil {
		return fmt.Errorf("not the face recognition net: want input %q and output %q", convert.InputName, convert.OutputName)
	}
	want := []int64{1, 3, ChipSide, ChipSide}
	dims := g.Input[0].GetType().GetTensorType().GetShape().GetDim()
	if len(dims) != len(want) {
		return fmt.Errorf("input has rank %d, want %v", len(dims), want)
	}
	for i, d := range dims {
		if d.GetDimValue() != want[i] {
			return fmt.Errorf("input shape differs from %v", want)
		}
	}
	if !slices.Equal(outs[convert.OutputName], []int64{1, Dim}) {
		return fmt.Errorf("output has shape %v, want [1 %d]", outs[convert.OutputName], Dim)
	}
	return nil
}

// Close frees the network. It is idempotent.
func (e *Embedder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		return e.fwd.Close()
	}
	return nil
}

// Embed returns the template of an aligned 150×150 8-bit BGR chip.
func (e *Embedder) Embed(chip gocv.Mat) (vision.Embedding, error) {
	if chip.Ptr() == nil {
		return nil, errors.New("embed: chip is a zero Mat")
	}
	if chip.Empty() || chip.Rows() != ChipSide || chip.Cols() != ChipSide || chip.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("embed: want a %dx%d 8-bit BGR chip, got %dx%d type %v", ChipSide, ChipSide, chip.Cols(), chip.Rows(), chip.Type())
	}
	// Raw RGB values, NCHW: the graph normalises them itself.
	blob := gocv.BlobFromImage(chip, 1, image.Pt(ChipSide, ChipSide), gocv.NewScalar(0, 0, 0, 0), true, false)
	defer blob.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("embed: embedder is closed")
	}
	v, err := e.fwd.forward(blob)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if len(v) != Dim {
		return nil, fmt.Errorf("embed: output has %d values, want %d", len(v), Dim)
	}
	return vision.Embedding(v), nil
}
