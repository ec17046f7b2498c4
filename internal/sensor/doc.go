// Package sensor reads the lane's vehicle-presence sensors — inductive
// loop detectors and light curtains wired to GPIO lines — and drives its
// optional outputs (illuminator strobe, status light), on periph.io's
// gpio interfaces: the Linux GPIO character device through gpioioctl on
// the booth, gpiotest underneath sensortest in tests.
//
// A Bank debounces each named input on laned's clock (never periph's
// gpioutil.Debounce, which ignores its argument), always waiting for
// edges with a positive timeout (WaitForEdge(0) waits for ever on the
// character device), and reports Transitions: the same type the video
// trigger (internal/trigger) emits, so the lane treats a loop and a
// virtual loop alike. Faults are latched, counted and cleared by
// recovery: stuck active beyond the longest presence, stuck inactive
// while the video trigger sees vehicles, chatter. Direction turns the
// transitions of an arrival and a departure loop into passes, so a
// vehicle backing out is not counted. The CSV codec records and replays
// transitions (laned record's sensors.csv).
package sensor
