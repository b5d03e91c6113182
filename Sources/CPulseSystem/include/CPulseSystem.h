#ifndef PULSE_CSYSTEM_H
#define PULSE_CSYSTEM_H

#include <sys/types.h>
#include "pulse_scoreboard.h"

/// Spawns `path` with `argv`/`envp`. `fd_from[i]` becomes fd `fd_to[i]` in the child;
/// every other fd >= `first_closed` is closed, stdin is /dev/null unless
/// `inherit_stdin`, all signal dispositions are reset to default and the signal mask
/// is empty. When `new_process_group` is non-zero the child leads a process group of
/// its own, so a terminal's Ctrl-C reaches only the arbiter. Returns 0 or an errno.
int pulse_spawn(const char *path, char *const argv[], char *const envp[],
                const int *fd_from, const int *fd_to, int fd_count,
                int first_closed, int new_process_group, int inherit_stdin, pid_t *pid_out);

/// Replaces the process title shown by `ps` (argv area, extended into the
/// environment area, which is moved to the heap first) and the kernel's comm name.
void pulse_setproctitle(const char *title);

/// Names the calling thread (15 characters at most, as the kernel keeps them).
void pulse_set_thread_name(const char *name);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC. Returns the fd or -1 with errno set.
int pulse_accept_nonblocking(int listen_fd);

/// pipe2 with O_CLOEXEC. Returns 0 or -1 with errno set.
int pulse_pipe_cloexec(int fds[2]);

/// A close-on-exec AF_UNIX stream socketpair. Returns 0 or -1 with errno set.
int pulse_socketpair_cloexec(int fds[2]);

/// Duplicates `fd` to the lowest free fd >= `minimum`, close-on-exec.
int pulse_dup_cloexec_above(int fd, int minimum);

/// Sets or clears O_NONBLOCK. Returns 0 or -1 with errno set.
int pulse_set_nonblocking(int fd, int on);

/// Makes stdout line-buffered (it is a pipe to the arbiter in a worker).
void pulse_line_buffer_stdout(void);

/// Decoders for waitpid's status word, which are macros in C.
int pulse_wifexited(int status);
int pulse_wexitstatus(int status);
int pulse_wifsignaled(int status);
int pulse_wtermsig(int status);

/// Numbers as Redis 7.0 reads and writes them, with the C library it uses (the data
/// store answers byte for byte as redis-server does; see Sources/CPulseSystem/Numbers.c).

/// Redis's string2d: strtod over all `length` bytes, refusing an empty text, leading
/// space, trailing bytes, NaN, and overflow (or underflow to zero). 1 and `*value`, or 0.
int pulse_parse_double(const char *text, size_t length, double *value);

/// A blocking command's timeout (BLPOP's and the like), in whole milliseconds, as
/// Redis 7.0 reads it: long double seconds times 1000, rounded up (0.0001 is 1 ms;
/// -0.0001 is 0, which waits for ever). -1 for a value that Redis calls negative,
/// including one past the 64-bit range. Returns 0 when the text is not a number.
int pulse_blocking_timeout_ms(const char *text, size_t length, long long *milliseconds);

/// A score as Redis 7.0 replies with it over RESP2: "%.17g", "inf" and "-inf".
/// Returns the length written to `out` (NUL-terminated), or -1 if `size` is too small.
int pulse_format_score(double value, char *out, size_t size);

/// INCRBYFLOAT and HINCRBYFLOAT as Redis computes them, in long double: `current`
/// (NULL for a missing key or field) plus `increment`, written in Redis's human form
/// ("%.17Lf", trailing zeros and a trailing dot dropped, "-0" as "0") to `out`.
/// Returns the length, or: -1 `current` is not a float, -2 `increment` is not a float,
/// -3 `increment` is infinite and `finite_increment` asked for it not to be, -4 the sum
/// is NaN or infinite, -5 `out` is too small.
long pulse_increment_float(const char *current, size_t current_length,
                           const char *increment, size_t increment_length,
                           int finite_increment, char *out, size_t size);

/// Bytes the C heap (where Swift allocates) has handed out and not taken back:
/// every arena of glibc's malloc, what INFO reports as used_memory.
size_t pulse_heap_in_use(void);

/// CPU seconds used by this process and by its waited-for children (user and system),
/// for INFO's CPU section.
void pulse_cpu_seconds(double *user, double *system, double *children_user, double *children_system);

#endif
