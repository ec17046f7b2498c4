#include <string.h>
#include "turbo.h"

int laned_tj_decode(tjhandle h, const unsigned char* buf, size_t n, unsigned char* dst, int w, int hgt, char* msg, int msglen) {
	int sw = 0, sh = 0, sub = 0, cs = 0;
	if (tjDecompressHeader3(h, buf, (unsigned long)n, &sw, &sh, &sub, &cs) != 0 || sw != w || sh != hgt) {
		strncpy(msg, sw != w || sh != hgt ? "size differs from the frame header" : tjGetErrorStr2(h), msglen - 1);
		return -1;
	}
	// Accurate IDCT and fancy upsampling, like OpenCV; a warning (corrupt
	// entropy data) stops the decode: the frame is refused, not smeared.
	if (tjDecompress2(h, buf, (unsigned long)n, dst, w, 0, hgt, TJPF_BGR, TJFLAG_STOPONWARNING) != 0) {
		strncpy(msg, tjGetErrorStr2(h), msglen - 1);
		return -1;
	}
	return 0;
}
