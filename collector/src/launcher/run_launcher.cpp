// `memview run`, the plain case, without starting a node of its own: the launcher is part of every
// traced run's wall time, and a second node start-up was ~30 ms of it (an empty program: 90 ms
// through bin/memview.cjs, 59 ms traced directly, 29 ms untraced).
//
// It does what cli/commands/run.ts does for a run it can take whole: options it knows, a script
// that exists or a command on PATH, a capture path it may write. For anything else it hands the
// same arguments to bin/memview.cjs (`exec node bin/memview.cjs run ...`), which says what is wrong
// or does the rest (--help, --follow-fork, --live-remote, an unknown flag, a missing script): the
// messages live in one place. After the program it prints the plain ending itself (the capture is
// complete) and hands any other (killed, no capture, incomplete) to `memview __conclude-run`.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

namespace {

struct Paths {
  std::string package;  // the memview package: this file is collector/build/Release/memview-run
  std::string cli() const { return package + "/bin/memview.cjs"; }
  std::string preload() const { return package + "/collector/build/Release/memview_preload.node"; }
  std::string addon() const { return package + "/collector/build/Release/memview.node"; }
  std::string register_script() const { return package + "/collector/register.cjs"; }
};

bool find_package(Paths* paths) {
  char self[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) return false;
  std::string path(self, static_cast<size_t>(length));
  for (int up = 0; up < 4; up++) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return false;
    path.resize(slash);
  }
  paths->package = path;
  return true;
}

// Everything this launcher does not take itself: bin/memview.cjs, with the same arguments.
[[noreturn]] void hand_to_cli(const Paths& paths, int argc, char** argv) {
  std::vector<char*> args;
  std::string cli = paths.cli();
  args.push_back(const_cast<char*>("node"));
  args.push_back(const_cast<char*>(cli.c_str()));
  args.push_back(const_cast<char*>("run"));
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execvp("node", args.data());
  fprintf(stderr, "memview: cannot start node for %s: %s\n", cli.c_str(), strerror(errno));
  _exit(1);
}

bool is_regular_file(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// The executable file execvp would run for `name` (a name with a slash is taken as is), or "".
std::string find_command(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return is_regular_file(name) && access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = getenv("PATH");
  std::string search = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string directory = search.substr(start, end - start);
    std::string candidate = (directory.empty() ? std::string(".") : directory) + "/" + name;
    if (is_regular_file(candidate) && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// node's path.resolve for one path: absolute, without '.', '..' or repeated and trailing slashes.
std::string resolve(const std::string& path) {
  std::string joined = path;
  if (path.empty() || path[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) return "";
    joined = std::string(cwd) + "/" + path;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    std::string part = joined.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const std::string& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The default capture name's stem, as run.ts computes it: basename(p, extname(p)) || 'program'.
// Empty (hand to the CLI) for names whose extension node reads in ways not worth copying.
std::string stem_of(const std::string& path) {
  std::string base = path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  size_t slash = base.rfind('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  if (base.find_first_not_of('.') == std::string::npos) return "";
  size_t dot = base.rfind('.');
  std::string stem = dot != std::string::npos && dot > 0 ? base.substr(0, dot) : base;
  return stem.empty() ? "program" : stem;
}

// NODE_OPTIONS values with spaces, quotes or backslashes are quoted (as run.ts does).
std::string quote_node_option(const std::string& value) {
  if (value.find_first_of(" \t\n\r\v\f\"\\") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

bool whole_number(const char* text, long low, long high, long* value) {
  if (*text == 0) return false;
  char* end = nullptr;
  errno = 0;
  long parsed = strtol(text, &end, 10);
  if (errno != 0 || *end != 0 || parsed < low || parsed > high) return false;
  for (const char* c = text; *c; c++) {
    if (*c < '0' || *c > '9') return false;  // no sign, no spaces: what Number() accepts differs
  }
  *value = parsed;
  return true;
}

// run.ts's endsWithTrailer: the file ends with a trailer chunk (written only on a clean stop),
// found in a tail read that doubles from 1 MiB up to 64 MiB.
bool ends_with_trailer(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat info;
  bool found = false;
  if (fstat(fd, &info) == 0) {
    const size_t size = static_cast<size_t>(info.st_size);
    std::vector<unsigned char> tail;
    for (size_t window = size_t{1} << 20;; window *= 2) {
      const size_t length = size < window ? size : window;
      tail.resize(length);
      if (pread(fd, tail.data(), length, static_cast<off_t>(size - length)) != static_cast<ssize_t>(length)) break;
      for (size_t at = length >= 4 ? length - 4 + 1 : 0; at-- > 0 && !found;) {
        if (memcmp(&tail[at], "MVCK", 4) != 0 || at + 24 > length || tail[at + 4] != 2) continue;
        uint32_t payload = tail[at + 8] | tail[at + 9] << 8 | tail[at + 10] << 16 | static_cast<uint32_t>(tail[at + 11]) << 24;
        found = at + 24 + payload == length;
      }
      if (found || length == size || window >= (size_t{64} << 20)) break;
    }
  }
  close(fd);
  return found;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    unit++;
  }
  // toFixed rounds a half up where printf rounds it to even (1280 B: 1.3 KiB, not 1.2); bytes over
  // a power of 1024 are exact in binary, so tenths counted this way are exactly toFixed's.
  char text[64];
  if (unit == 0) {
    snprintf(text, sizeof(text), "%.0f %s", bytes, units[unit]);
  } else {
    const double tenths = floor(bytes * 10 + 0.5);
    snprintf(text, sizeof(text), "%.0f.%.0f %s", floor(tenths / 10), fmod(tenths, 10), units[unit]);
  }
  return text;
}

std::string json_string(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// A signal's name as node gives it (os.constants.signals on Linux); "SIG<n>" for the real-time
// ones, which node reports as no signal at all (so the CLI would call such a capture incomplete).
std::string signal_name(int signal) {
  static const char* const kNames[] = {
      nullptr,   "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",  "SIGTRAP", "SIGABRT", "SIGBUS",
      "SIGFPE",  "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
      "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
      "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};
  if (signal > 0 && signal < 32) return kNames[signal];
  return "SIG" + std::to_string(signal);
}

volatile pid_t g_child = 0;

void forward_signal(int signal) {
  if (g_child > 0) kill(g_child, signal);
}

// A run this launcher takes whole, as its arguments ask for it.
struct PlainRun {
  bool native = false, quiet = false, no_inlining = false;
  long sample_ms = 10;
  std::vector<char*> command;  // the program and its arguments, null-terminated
  std::string node;            // the node that runs a script ("" for a command after --)
  std::string output_template;
};

// Reads the arguments of `memview run` into *run; false for anything but a plain run, which the
// CLI then takes (and says what is wrong with it, if anything is).
bool read_plain_run(int argc, char** argv, const Paths& paths, PlainRun* run) {
  bool force = false, explicit_command = false;
  const char* output = nullptr;
  const char* sample_interval = "10";
  int first = 1;
  auto value_of = [&](const char* arg, const char* name, const char** value) {
    const size_t length = strlen(name);
    // `--name=value`; node's parseArgs reads `-o=x` as -o with the value `=x`: that is the CLI's.
    if (name[1] == '-' && strncmp(arg, name, length) == 0 && arg[length] == '=') {
      *value = arg + length + 1;
      return true;
    }
    if (strcmp(arg, name) != 0 || first + 1 >= argc || argv[first + 1][0] == '-') return false;
    *value = argv[++first];
    return true;
  };
  for (; first < argc; first++) {
    const char* arg = argv[first];
    if (strcmp(arg, "--") == 0) {
      explicit_command = true;
      first++;
      break;
    }
    if (arg[0] != '-' || strcmp(arg, "-") == 0) break;
    if (strcmp(arg, "-f") == 0 || strcmp(arg, "--force") == 0) force = true;
    else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) run->quiet = true;
    else if (strcmp(arg, "--native") == 0) run->native = true;
    else if (strcmp(arg, "--no-inlining") == 0) run->no_inlining = true;
    else if (!value_of(arg, "-o", &output) && !value_of(arg, "--output", &output) &&
             !value_of(arg, "--sample-interval", &sample_interval))
      return false;
  }
  if (first >= argc || !whole_number(sample_interval, 1, 60000, &run->sample_ms)) return false;
  if (output != nullptr && *output == 0) return false;
  const std::string program = argv[first];
  // `memview run node [options] script.js`, as heaptrack, valgrind and perf take a program: node
  // itself, as after `--` (cli/terminal/program-words.ts reads the words the same way).
  if (!explicit_command && program == "node" && !is_regular_file(program)) explicit_command = true;
  if (explicit_command ? find_command(program).empty() : !is_regular_file(program)) return false;
  if (!explicit_command) {
    // The node on PATH, by its real path, as process.execPath names it to the CLI (the program's
    // process.argv[0] and argv0 are that path).
    char real[PATH_MAX];
    const std::string found = find_command("node");
    if (found.empty() || realpath(found.c_str(), real) == nullptr) return false;
    run->node = real;
  }
  if (!is_regular_file(paths.preload()) || !is_regular_file(paths.addon())) return false;
  // A default capture is named after the script, also the one a node command runs (its first word
  // that is not an option and is a file: a `-r module` option's value is mostly no file here).
  std::string named = program;
  if (explicit_command && stem_of(program) == "node") {
    for (int i = first + 1; i < argc; i++) {
      if (argv[i][0] != '-' && is_regular_file(argv[i])) {
        named = argv[i];
        break;
      }
    }
  }
  const std::string stem = stem_of(named);
  if (stem.empty()) return false;
  // The preloaded core replaces %p with the pid of the process memview runs (in its followed
  // children too, whose captures are named after it).
  run->output_template = resolve(output != nullptr ? output : "memview-" + stem + ".%p.bin");
  if (run->output_template.empty()) return false;
  if (output != nullptr && exists(run->output_template) && (!force || access(run->output_template.c_str(), W_OK) != 0)) return false;
  // A directory, or the script itself (-f would have replaced the program with its capture): the
  // CLI refuses those, with a message, before anything runs.
  struct stat output_status, program_status;
  if (stat(run->output_template.c_str(), &output_status) == 0 &&
      (S_ISDIR(output_status.st_mode) ||
       (stat(program.c_str(), &program_status) == 0 && output_status.st_dev == program_status.st_dev &&
        output_status.st_ino == program_status.st_ino)))
    return false;
  if (access(directory_of(run->output_template).c_str(), W_OK) != 0) return false;
  if (!explicit_command) run->command.push_back(const_cast<char*>(run->node.c_str()));
  for (int i = first; i < argc; i++) run->command.push_back(argv[i]);
  run->command.push_back(nullptr);
  return true;
}

// How the program ended.
struct Ending {
  pid_t pid = 0;
  int status = 0;      // waitpid's
  int exec_error = 0;  // errno of an exec that failed, or 0
};

// Starts the program with the tracing environment and waits for it, forwarding SIGINT, SIGTERM
// and SIGHUP; false (said why) when it could not be started or waited for.
bool run_program(const Paths& paths, const PlainRun& run, Ending* ending) {
  const char* preload_before = getenv("LD_PRELOAD");
  const std::string preload = paths.preload() + (preload_before != nullptr && *preload_before ? std::string(":") + preload_before : "");
  const char* options_before = getenv("NODE_OPTIONS");
  const std::string node_options = (options_before != nullptr && *options_before ? std::string(options_before) + " " : "") +
                                   "--require " + quote_node_option(paths.register_script());
  const std::string sample_ms = std::to_string(run.sample_ms);
  // A pipe closed on exec tells whether the program started (errno if it did not).
  int started[2];
  if (pipe2(started, O_CLOEXEC) != 0) {
    fprintf(stderr, "memview: cannot start '%s': %s\n", run.command[0], strerror(errno));
    return false;
  }
  g_child = fork();
  if (g_child < 0) {
    fprintf(stderr, "memview: cannot start '%s': %s\n", run.command[0], strerror(errno));
    return false;
  }
  if (g_child == 0) {
    close(started[0]);
    // Only the program's environment: the node that concludes a run must not be traced.
    setenv("LD_PRELOAD", preload.c_str(), 1);
    setenv("MEMVIEW_OUTPUT", run.output_template.c_str(), 1);
    setenv("MEMVIEW_NATIVE", run.native ? "1" : "0", 1);
    setenv("MEMVIEW_NO_INLINING", run.no_inlining ? "1" : "0", 1);
    setenv("MEMVIEW_FOLLOW_FORK", "0", 1);
    setenv("MEMVIEW_SAMPLE_MS", sample_ms.c_str(), 1);
    unsetenv("MEMVIEW_ROOT_PID");
    setenv("NODE_OPTIONS", node_options.c_str(), 1);
    // As libuv starts a child (node's spawn): every signal at its default and none blocked, so
    // that a signal the caller ignored (a background job's SIGINT) still reaches the program.
    for (int number = 1; number < 32; number++) {
      if (number != SIGKILL && number != SIGSTOP) signal(number, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvp(run.command[0], run.command.data());
    int error = errno;
    if (write(started[1], &error, sizeof(error)) < 0) {
      // nothing more to say: the parent sees the child exit with 127
    }
    _exit(127);
  }
  close(started[1]);
  struct sigaction forward = {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  for (int number : {SIGINT, SIGTERM, SIGHUP}) sigaction(number, &forward, nullptr);
  // A closed stderr (`memview run app.js 2>&1 | head`) must not kill the launcher before it
  // returns the program's status: node ignores SIGPIPE as well.
  signal(SIGPIPE, SIG_IGN);
  ssize_t got;
  do got = read(started[0], &ending->exec_error, sizeof(ending->exec_error));
  while (got < 0 && errno == EINTR);
  if (got != static_cast<ssize_t>(sizeof(ending->exec_error))) ending->exec_error = 0;
  close(started[0]);
  pid_t waited;
  do waited = waitpid(g_child, &ending->status, 0);
  while (waited < 0 && errno == EINTR);
  // The program is gone: a signal from now on is the launcher's own (as run.ts drops its
  // forwarders), never forwarded to a pid the system may have given to another process.
  for (int number : {SIGINT, SIGTERM, SIGHUP}) signal(number, SIG_DFL);
  ending->pid = g_child;
  g_child = 0;
  if (waited < 0) {
    fprintf(stderr, "memview: cannot wait for the program (pid %d): %s\n", ending->pid, strerror(errno));
    return false;
  }
  if (ending->exec_error != 0) {
    fprintf(stderr, "memview: cannot start '%s': %s\n", run.command[0],
            ending->exec_error == ENOENT   ? "command not found"
            : ending->exec_error == EACCES ? "permission denied (not an executable file?)"
                                           : strerror(ending->exec_error));
    return false;
  }
  return true;
}

// Says where the capture went and returns the program's status; any ending but a complete
// capture goes to the CLI's `__conclude-run` (naming a killed program's frames, saying why a
// capture is missing or incomplete).
int conclude(const Paths& paths, const PlainRun& run, const Ending& ending) {
  std::string capture = run.output_template;
  const size_t marker = capture.find("%p");
  if (marker != std::string::npos) capture.replace(marker, 2, std::to_string(ending.pid));
  const bool signaled = WIFSIGNALED(ending.status);
  const int number = signaled ? WTERMSIG(ending.status) : 0;
  const int exit_status = signaled ? 128 + number : WEXITSTATUS(ending.status);
  if (!exists(capture) || !ends_with_trailer(capture)) {
    std::string described = "{\"capturePath\":" + json_string(capture) + ",\"outputTemplate\":" + json_string(run.output_template) +
                            ",\"code\":" + (signaled ? "null" : std::to_string(exit_status)) + ",\"signal\":" +
                            (signaled ? json_string(signal_name(number)) : "null") + ",\"exitStatus\":" + std::to_string(exit_status) +
                            ",\"followFork\":false,\"quiet\":" + (run.quiet ? "true" : "false") +
                            ",\"program\":" + json_string(run.command[0]) + "}";
    std::string cli = paths.cli();
    char* arguments[] = {const_cast<char*>("node"), const_cast<char*>(cli.c_str()), const_cast<char*>("__conclude-run"),
                         const_cast<char*>(described.c_str()), nullptr};
    execvp("node", arguments);
    fprintf(stderr, "memview: cannot start node to finish %s: %s\n", capture.c_str(), strerror(errno));
    return exit_status == 0 ? 1 : exit_status;
  }
  if (!run.quiet) {
    struct stat info;
    const std::string size = stat(capture.c_str(), &info) == 0 ? format_bytes(static_cast<double>(info.st_size)) : "?";
    const std::string how = signaled ? " (the program ended on " + signal_name(number) + ")" : "";
    fprintf(stderr, "memview: wrote %s (%s)%s\n", capture.c_str(), size.c_str(), how.c_str());
    fprintf(stderr, "memview: see it with 'memview stats %s' or 'memview %s'\n", capture.c_str(), capture.c_str());
  }
  return exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  // An ignored SIGCHLD (inherited through exec) would make the kernel reap the program itself,
  // and waitpid could not tell its status.
  signal(SIGCHLD, SIG_DFL);
  Paths paths;
  if (!find_package(&paths)) {
    fprintf(stderr, "memview: cannot find the memview package from /proc/self/exe\n");
    return 1;
  }
  PlainRun run;
  if (!read_plain_run(argc, argv, paths, &run)) hand_to_cli(paths, argc, argv);
  Ending ending;
  if (!run_program(paths, run, &ending)) return 1;
  return conclude(paths, run, ending);
}
