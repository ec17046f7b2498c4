package vision

import "fmt"

// Engine names the inference engine that runs a network.
type Engine string

const (
	// EngineOneDNN runs a net on oneDNN (package onednn): the default,
	// 2–3× faster than OpenCV 4.6's DNN module on the same ONNX file.
	EngineOneDNN Engine = "onednn"
	// EngineOpenCV runs a net on OpenCV 4.6's DNN module: the reference
	// the oneDNN path is tested against, and a fallback.
	EngineOpenCV Engine = "opencv"
)

// ParseEngine accepts "" (the default, EngineOneDNN), "onednn" or "opencv".
func ParseEngine(s string) (Engine, error) {
	switch e := Engine(s); e {
	case "":
		return EngineOneDNN, nil
	case EngineOneDNN, EngineOpenCV:
		return e, nil
	}
	return "", fmt.Errorf("unknown inference engine %q (want %q or %q)", s, EngineOneDNN, EngineOpenCV)
}
