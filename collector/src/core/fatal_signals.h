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
 * Called in an ending signal's handler (async-signal-safe work only). True when it took the signal
 * over: the handler returns, and hand_on_ending_signal lets the signal take its course later.
 */
using EndingSignalCallback = bool (*)(int signal);

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
 * the signal, or the default). It hands the signal to `callback` and returns: the thread it
 * stopped may hold the allocator's lock or memview's, which finishing the capture needs (waiting
 * in the handler hung for 3 s and left the capture cut, now and then). Once the capture is
 * finished, hand_on_ending_signal lets that handler or the default action take its course; when
 * nothing is traced, the handler does so at once. A JavaScript listener would have held the signal
 * until the event loop turned: a busy program ignored Ctrl-C. Not where the signal is ignored;
 * once per signal and process. A handler the program installs later (a `process.on('SIGINT')`)
 * replaces memview's: the program then decides when to exit.
 */
void catch_ending_signals_in_front(EndingSignalCallback callback, int signals_mask);

/**
 * Lets an ending signal whose handler returned (its callback took it over) take its course now:
 * puts back what memview's handler went in front of and sends the signal to the process again.
 */
void hand_on_ending_signal(int signal);

/** "SIGABRT" for SIGABRT, and so on, for the signals caught; "signal" for any other. */
const char* deadly_signal_name(int signal);

}  // namespace memview
