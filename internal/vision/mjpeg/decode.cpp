#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include "decode.h"

int laned_imdecode_bgr(const unsigned char* buf, size_t n, unsigned char* dst, int w, int h) {
	try {
		cv::Mat in(1, (int)n, CV_8UC1, (void*)buf);
		// A header over the caller's buffer: imdecode decodes straight
		// into it when the size and type match, and allocates (which we
		// refuse) when they do not.
		cv::Mat out(h, w, CV_8UC3, dst);
		cv::imdecode(in, cv::IMREAD_COLOR, &out);
		if (out.empty()) return -3;
		if (out.data != dst || out.rows != h || out.cols != w || out.type() != CV_8UC3) return -2;
		return 0;
	} catch (...) {
		return -1;
	}
}
