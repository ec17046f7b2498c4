// Package sensortest is a fake GPIO board for sensor tests: chips with a
// number of lines, each line a periph gpiotest.Pin whose edges a test
// scripts (Set, Bounce), so debounce, faults and the bank's errors for a
// missing chip or line are tested without hardware.
package sensortest
