// Redirects the allocator entries of objects that are already loaded, for tracing that starts
// inside a running process (the Tracker API) where LD_PRELOAD came too late: every loaded
// object's GOT slots for the hooked functions are rewritten to point at memview's hooks.
#pragma once

namespace memview {

struct HookEntry {
  const char* symbol;
  void* replacement;
};

/** Rewrites GOT slots naming one of `hooks` in every loaded object except memview's own. */
void patch_loaded_objects(const HookEntry* hooks, int hook_count);

}  // namespace memview
