// Package record captures a troublesome pass at a booth so the lab can
// replay it bit for bit (laned record): each camera's frames into a
// folder of its own, named in capture order as camera.NewDir replays
// them — a camera's own MJPEG bytes as .jpg (Huffman tables added), other
// frames as lossless PNG — with frames.csv beside them (index, capture
// time, driver sequence: the drops and jitter a replay at i×1000/fps ms
// smooths over), and the sensor transitions as sensors.csv (t_ms, input,
// level), t_ms counted from the recording's start, and replay.yaml, a
// cameras: section that replays the folder at the captured rates.
package record
