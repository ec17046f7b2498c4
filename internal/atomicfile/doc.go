// Package atomicfile writes a file so that a reader, or the file system
// after a crash or power cut, sees either the old content or the new one,
// whole: a temporary file beside the target is written, fsynced, renamed
// over the target, and the directory is fsynced so the rename itself is
// durable. The target's symlink, if it is one, is replaced, not followed.
package atomicfile
