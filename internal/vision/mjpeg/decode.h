#ifndef LANED_MJPEG_DECODE_H
#define LANED_MJPEG_DECODE_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
// laned_imdecode_bgr decodes buf into the caller's w*h*3 BGR buffer dst
// with cv::imdecode. 0 on success; -1 an OpenCV exception, -2 decoded to
// another size or type, -3 nothing decoded.
int laned_imdecode_bgr(const unsigned char* buf, size_t n, unsigned char* dst, int w, int h);
#ifdef __cplusplus
}
#endif
#endif
