#ifndef LANED_MJPEG_TURBO_H
#define LANED_MJPEG_TURBO_H
#include <stddef.h>
#include <turbojpeg.h>
// laned_tj_decode decodes a checked JPEG into the caller's w*h*3 BGR
// buffer. 0 on success; -1 error or warning (corrupt data), with the
// message copied into msg.
int laned_tj_decode(tjhandle h, const unsigned char* buf, size_t n, unsigned char* dst, int w, int hgt, char* msg, int msglen);
#endif
