package camera

import "github.com/blackjack/webcam"

// Device is the part of *webcam.Webcam the V4L2 source uses (asserted in
// v4l2.go), so cameratest can script a device's formats, controls,
// frames, stalls and unplugs.
type Device interface {
	GetName() (string, error)
	GetSupportedFormats() map[webcam.PixelFormat]string
	GetSupportedFrameSizes(f webcam.PixelFormat) []webcam.FrameSize
	GetSupportedFramerates(f webcam.PixelFormat, width, height uint32) []webcam.FrameRate
	// SetImageFormat returns the driver's pixel format but echoes the
	// requested size: the real size is read back from the frames.
	SetImageFormat(f webcam.PixelFormat, width, height uint32) (webcam.PixelFormat, uint32, uint32, error)
	SetFramerate(fps float32) error
	GetFramerate() (float32, error)
	SetBufferCount(count uint32) error
	GetControls() map[webcam.ControlID]webcam.Control
	GetControl(id webcam.ControlID) (int32, error)
	SetControl(id webcam.ControlID, value int32) error
	StartStreaming() error
	// WaitForFrame takes whole seconds.
	WaitForFrame(timeoutSeconds uint32) error
	// GetFrame returns a view of a driver buffer, valid until
	// ReleaseFrame(index) or StopStreaming (which unmaps it).
	GetFrame() ([]byte, uint32, error)
	ReleaseFrame(index uint32) error
	StopStreaming() error
	Close() error
}

// Opener opens the device node at path (already resolved from a
// /dev/v4l/by-id link).
type Opener func(path string) (Device, error)
