package camera

import "github.com/blackjack/webcam"

// The real driver: *webcam.Webcam is a Device.
var _ Device = (*webcam.Webcam)(nil)

// OpenWebcam opens a V4L2 capture node with github.com/blackjack/webcam.
func OpenWebcam(path string) (Device, error) {
	w, err := webcam.Open(path)
	if err != nil {
		return nil, err
	}
	return w, nil
}
