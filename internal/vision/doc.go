// Package vision holds the types the face pipeline passes between its
// stages (detect → align → embed → quality) and to its consumers (match,
// gallery, lane). The stages themselves live in the sub-packages; this
// package has no OpenCV dependency so consumers of the results stay cgo-free.
package vision
