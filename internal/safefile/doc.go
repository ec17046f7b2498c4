// Package safefile opens input files and writes output files the way an
// unattended appliance must: an input that is not a regular file (a FIFO,
// a device node, a directory, a socket) is refused at once, before any
// open(2) that could block or act on a device; reads are bounded; an
// output is written to a new temporary file in its directory, fsynced and
// renamed into place, so a planted symlink at the output path is replaced,
// never followed, and a reader never sees half a file.
package safefile
