// Package lanedtest holds helpers that tests and benchmarks in several
// packages share: the verified recognition model from the model cache,
// golden float32 vectors, the process's CPU time and resident memory (on a shared machine
// wall time alone says little). Only _test.go files import it.
package lanedtest
