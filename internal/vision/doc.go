// Package vision holds the types the face pipeline passes between its
// stages (detect → align → embed → quality) and to its consumers (match,
// gallery, lane), and the names of the inference engines that run the
// nets (Engine). The stages themselves live in the sub-packages (onednn is
// the engine both nets run on); this package has no OpenCV dependency so
// consumers of the results stay cgo-free.
package vision
