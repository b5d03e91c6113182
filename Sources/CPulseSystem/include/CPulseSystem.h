#ifndef PULSE_CSYSTEM_H
#define PULSE_CSYSTEM_H

#include <sys/types.h>

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

#endif
