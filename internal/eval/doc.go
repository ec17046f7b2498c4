// Package eval measures the face pipeline against labelled data sets: the
// dlib imglab XML format for detection ground truth (ParseImglab,
// EvaluateDetection) and, beside it, recognition evaluation.
//
// The JSON keys of the result types are relied on outside the project
// (CI thresholds, the central office's dashboards): keep them exactly.
package eval
