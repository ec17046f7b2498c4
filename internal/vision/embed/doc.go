// Package embed runs the recognition net: an aligned 150×150 BGR face chip
// in, a 128-D template out. The model is the ONNX conversion of face-api's
// port of dlib's ResNet face descriptor (see internal/models/convert); the
// file is checked to be a parseable ONNX graph with the expected input and
// output before OpenCV reads it, because OpenCV aborts the process on a
// model it cannot parse.
package embed
