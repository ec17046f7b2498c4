// Package convert turns model weights shipped for other runtimes into ONNX
// that OpenCV 4.6's DNN module runs. FaceRecognition converts face-api's
// recognition net (TF.js weights: a port of dlib's ResNet face descriptor,
// 128-D) exactly: each convolution with its bias and the following scale
// layer folded into one Conv, ReLU, MaxPool, residual Add, and for the
// down-sampling shortcut AveragePool plus zero Pad (channels, and one
// row/column where shapes differ), GlobalAveragePool, Gemm.
//
// The converted graph takes NCHW float input, 1×3×150×150, RGB, raw pixel
// values 0..255, and does the net's own normalisation ((x−mean)/255) as its
// first two nodes, so callers feed the aligned chip's pixels as they are.
// The output is deterministic: the same weights give the same bytes.
package convert
