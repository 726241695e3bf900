#include "fatal_signals.h"

#include <signal.h>

#include <atomic>

namespace memview {
namespace {

struct DeadlySignal {
  int number;
  const char* name;
};

constexpr DeadlySignal kDeadlySignals[] = {
    {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGILL, "SIGILL"}, {SIGFPE, "SIGFPE"}, {SIGABRT, "SIGABRT"},
    {SIGTRAP, "SIGTRAP"}, {SIGQUIT, "SIGQUIT"}, {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"}, {SIGHUP, "SIGHUP"},
};

std::atomic<bool> g_installed{false};
BeforeDyingCallback g_callback = nullptr;

void on_deadly_signal(int signal, siginfo_t*, void*) {
  g_callback(signal);
  // Only default actions were replaced: put it back and let it happen. Blocked while this handler
  // runs, the raised signal is delivered as the handler returns; a fault would also just recur.
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigaction(signal, &default_action, nullptr);
  raise(signal);
}

}  // namespace

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
  return "signal";
}

}  // namespace memview
