// Package embed runs the recognition net: an aligned 150×150 BGR face chip
// in, a 128-D template out. The model is the ONNX conversion of face-api's
// port of dlib's ResNet face descriptor (see internal/models/convert).
//
// Two engines run the same file: oneDNN (package onednn, the default) and
// OpenCV 4.6's DNN module (EngineOpenCV, the reference). Both pass the
// golden test; the fuzz tests require them to agree on every model they
// accept. On this project's 2-core machine oneDNN takes 3.3 ms a face and
// OpenCV 7.9 ms.
//
// Preprocessing lives in the model graph, not here: Embed hands the engine
// the chip's raw 0..255 values as a 1×3×150×150 RGB float blob, and the graph's
// first two nodes compute (rgb − mean)/255 exactly as face-api does. So the
// converted file alone defines the templates, and a chip goes to cgo only
// after its size and type are checked.
//
// Open parses the file and checks the whole graph (onnx.Check: operators,
// attributes, shapes, finite weights, the expected input and output) before
// an engine reads it, because OpenCV 4.6 aborts the process on a model it
// cannot build. Whether the weights are the pinned ones is checked by the
// model set (models.Set.Path compares the sha256 with the manifest).
//
// An Embedder is safe for concurrent use; the engines are not, so calls are
// serialised. The graph is fixed at batch 1 (OpenCV 4.6 aborts when this
// graph is fed a larger batch), so there is no batch call.
package embed
