// A traced program that crashes (abort(), V8's fatal "heap out of memory", a segfault in a native
// addon) would leave a capture cut at its last flushed chunk: up to a flush interval of events
// lost, and no trailer, so no native symbols either. Catching the signal first lets the capture be finished, then the signal goes on to
// whatever would have handled it without memview (docs/collector.md, "When the program dies of a
// signal").
#pragma once
#include <signal.h>

namespace memview {

/** Called on the dying thread, in signal context: only async-signal-safe work. */
using BeforeDyingCallback = void (*)(int signal);

/**
 * Catches the signals a crash raises (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP), each
 * only where nobody handles or ignores it yet:
 * a handler installed before memview's (node's WebAssembly trap handler, a program's own) keeps
 * the signal to itself. Installs once per process: later calls do nothing.
 */
void catch_deadly_signals(BeforeDyingCallback callback);

/** Whether a fault is one its handler recovers from, in the handler's own terms. */
using RecoverableFault = bool (*)(int signal, siginfo_t* info, void* context);

/**
 * Segfaults (SIGSEGV, SIGBUS) of a program whose own handler comes first: node's, which lets V8
 * recover from WebAssembly out-of-bounds accesses and turns every other fault into a crash.
 * memview's handler goes in front of it: a fault that `recoverable` (V8's own test) says is a
 * WebAssembly trap is left to that handler alone; any other finishes the capture, then goes on to
 * it. Only where such a handler is installed; once per process.
 */
void catch_faults_in_front(BeforeDyingCallback callback, RecoverableFault recoverable);

/**
 * SIGINT, SIGTERM and SIGHUP (those whose bit `1 << number` is in `signals_mask`): memview's
 * handler goes in front of what is there (node's own, which restores the terminal and dies of
 * the signal, or the default), finishes the capture at once, in signal context, then lets that
 * handler or the default action take its course. A JavaScript listener would have held the signal
 * until the event loop turned: a busy program ignored Ctrl-C. Not where the signal is ignored;
 * once per signal and process. A handler the program installs later (a `process.on('SIGINT')`)
 * replaces memview's: the program then decides when to exit.
 */
void catch_ending_signals_in_front(BeforeDyingCallback callback, int signals_mask);

/** "SIGABRT" for SIGABRT, and so on, for the signals caught; "signal" for any other. */
const char* deadly_signal_name(int signal);

}  // namespace memview
