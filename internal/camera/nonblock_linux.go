package camera

import "syscall"

// syscallNonblock opens frame files so a FIFO in a replay directory
// cannot block the replay.
const syscallNonblock = syscall.O_NONBLOCK
