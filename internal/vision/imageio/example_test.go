package imageio_test

import (
	"errors"
	"fmt"

	"github.com/laned/laned/internal/vision/imageio"
)

func ExampleDecode() {
	// the first bytes of a JPEG, cut off: an error naming the file, never
	// a grey-filled image
	_, err := imageio.Decode("upload.jpg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10})
	fmt.Println(errors.Is(err, imageio.ErrCorrupt))
	fmt.Println(err)
	// Output:
	// true
	// image upload.jpg: corrupt or truncated image: jpeg header: unexpected EOF
}
