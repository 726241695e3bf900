#include "fatal_signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

namespace memview {
namespace {

struct DeadlySignal {
  int number;
  const char* name;
};

// The signals a crash raises. Not SIGINT, SIGTERM, SIGHUP or SIGQUIT: programs look at those to
// decide what to do (Python installs its KeyboardInterrupt handler only where SIGINT is still the
// default), so a handler of memview's there would change what the program does.
constexpr DeadlySignal kDeadlySignals[] = {
    {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGILL, "SIGILL"}, {SIGFPE, "SIGFPE"}, {SIGABRT, "SIGABRT"}, {SIGTRAP, "SIGTRAP"},
};

// The signals that end a program that does not handle them, caught only where asked
// (catch_ending_signals_in_front: node, for the ones its program has no listener for).
constexpr DeadlySignal kEndingSignals[] = {{SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGHUP, "SIGHUP"}};

std::atomic<bool> g_installed{false};
std::atomic<int> g_ending_caught{0};  // bit per signal number
EndingSignalCallback g_ending_callback = nullptr;
std::atomic<bool> g_in_front{false};
BeforeDyingCallback g_callback = nullptr;
RecoverableFault g_recoverable = nullptr;
// The handlers memview's went in front of (catch_faults_in_front, catch_ending_signals_in_front), by signal.
struct sigaction g_behind[NSIG];

// Puts the default action back and raises the signal: blocked while the handler runs, it is
// delivered as the handler returns (a fault would also just recur).
void take_default_action(int signal) {
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigaction(signal, &default_action, nullptr);
  raise(signal);
}

// Runs the handler memview's went in front of, if there was one; false when it was the default.
bool run_handler_behind(int signal, siginfo_t* info, void* context) {
  const struct sigaction& behind = g_behind[signal];
  if (behind.sa_flags & SA_SIGINFO) {
    behind.sa_sigaction(signal, info, context);
    return true;
  }
  if (behind.sa_handler == SIG_DFL || behind.sa_handler == SIG_IGN) return false;
  behind.sa_handler(signal);
  return true;
}

void on_deadly_signal(int signal, siginfo_t*, void*) {
  g_callback(signal);
  take_default_action(signal);  // only default actions were replaced
}

void on_fault_in_front(int signal, siginfo_t* info, void* context) {
  // A trap it recovers from is handled there and then: V8 points the context at its landing pad,
  // where the handler behind would no longer see a trap.
  if (g_recoverable(signal, info, context)) return;
  g_callback(signal);
  run_handler_behind(signal, info, context);
}

void hand_on(int signal) {
  sigaction(signal, &g_behind[signal], nullptr);
  kill(getpid(), signal);  // delivered as this handler returns, to what was there before memview
}

void on_ending_signal(int signal, siginfo_t*, void*) {
  // Traced: the capture is finished first, then hand_on_ending_signal. Otherwise what would have
  // happened without memview happens now: node's handler (it restores the terminal, then raises
  // the signal again under its default action), or the default action itself.
  if (!g_ending_callback(signal)) hand_on(signal);
}

// Puts `handler` in front of `current`, the signal's action now (kept in g_behind): with its mask
// and flags, so that what runs there runs as it would have, but never reset to the default on
// entry, so that a second signal finds memview's handler while the first is being dealt with.
void go_in_front(int signal, const struct sigaction& current, void (*handler)(int, siginfo_t*, void*)) {
  g_behind[signal] = current;
  struct sigaction action = current;
  action.sa_sigaction = handler;
  action.sa_flags |= SA_SIGINFO;
  action.sa_flags &= ~SA_RESETHAND;
  sigaction(signal, &action, nullptr);
}

}  // namespace

void hand_on_ending_signal(int signal) { hand_on(signal); }

void catch_ending_signals_in_front(EndingSignalCallback callback, int signals_mask) {
  g_ending_callback = callback;
  for (const DeadlySignal& ending : kEndingSignals) {
    const int bit = 1 << ending.number;
    if (!(signals_mask & bit) || (g_ending_caught.fetch_or(bit) & bit)) continue;
    struct sigaction current;
    if (sigaction(ending.number, nullptr, &current) != 0) continue;
    if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) continue;  // nohup: ignored it stays
    // A second Ctrl-C while the writer finishes finds the first on its way (finish_then_hand_on).
    go_in_front(ending.number, current, on_ending_signal);
  }
}

void catch_faults_in_front(BeforeDyingCallback callback, RecoverableFault recoverable) {
  if (g_in_front.exchange(true)) return;
  g_callback = callback;
  g_recoverable = recoverable;
  for (int signal : {SIGSEGV, SIGBUS}) {
    struct sigaction current;
    if (sigaction(signal, nullptr, &current) != 0) continue;
    const bool someone_elses = (current.sa_flags & SA_SIGINFO) ? current.sa_sigaction != on_deadly_signal
                                                               : current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;
    if (!someone_elses) continue;
    go_in_front(signal, current, on_fault_in_front);
  }
}

void catch_deadly_signals(BeforeDyingCallback callback) {
  if (g_installed.exchange(true)) return;
  g_callback = callback;
  struct sigaction action = {};
  action.sa_sigaction = on_deadly_signal;
  // SA_ONSTACK: a thread that set up an alternate stack (for stack overflows) gets the handler
  // there.
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const DeadlySignal& deadly : kDeadlySignals) {
    struct sigaction current;
    if (sigaction(deadly.number, nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) continue;
    sigaction(deadly.number, &action, nullptr);
  }
}

const char* deadly_signal_name(int signal) {
  for (const DeadlySignal& deadly : kDeadlySignals) {
    if (deadly.number == signal) return deadly.name;
  }
  for (const DeadlySignal& ending : kEndingSignals) {
    if (ending.number == signal) return ending.name;
  }
  return "signal";
}

}  // namespace memview
