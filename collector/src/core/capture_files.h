// Opening capture files. The root process writes the path it was given (a capture there is
// replaced: `memview run` refused it without -f). A followed child writes <root>.<pid>, and a
// capture already at that name is one of two things: its own, from the program the process ran
// before an exec (the exec'd program starts its capture again, and replaces it: `env node`, `sh -c
// 'exec node'`), or another process's, which had the same pid earlier in the run (the kernel hands
// pids out again once it has used pid_max of them, 32768 on many machines: a long build under
// --follow-fork wraps it) or in an earlier run into the same directory. That one stays, and this
// process writes <root>.<pid>.<n>, the first n from 2 that is free or its own. A capture is the
// process's own when it was last written after the process began (a pid is only handed out again
// after its process is gone).
#pragma once
#include <cstddef>

namespace memview {

/** Opens (creates or truncates) the root capture at `path`; a descriptor, or -1 with errno set. */
int open_capture(const char* path);

/**
 * Opens the capture of a followed child at `path` (<root>.<pid>), or at <root>.<pid>.<n> when
 * another process's capture is there: `path` (room for `capacity` bytes) then names the file
 * chosen. A descriptor, or -1 with errno set.
 */
int open_child_capture(char* path, size_t capacity);

/** Removes this process's own capture at `path` (<root>.<pid>) or after it, if it has one. */
void discard_own_child_capture(const char* path);

}  // namespace memview
