#include "CPulseSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

extern char **environ;

int pulse_spawn(const char *path, char *const argv[], char *const envp[],
                const int *fd_from, const int *fd_to, int fd_count,
                int first_closed, int new_process_group, int inherit_stdin, pid_t *pid_out) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }

    if (!inherit_stdin) rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    for (int i = 0; rc == 0 && i < fd_count; i++) {
        rc = posix_spawn_file_actions_adddup2(&actions, fd_from[i], fd_to[i]);
    }
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, first_closed);

    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (new_process_group) flags |= POSIX_SPAWN_SETPGROUP;
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
    if (rc == 0 && new_process_group) rc = posix_spawnattr_setpgroup(&attributes, 0);
    if (rc == 0) rc = posix_spawnattr_setflags(&attributes, flags);
    if (rc == 0) rc = posix_spawn(pid_out, path, &actions, &attributes, argv, envp);

    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

/* The argv and environ strings are laid out contiguously by the kernel; glibc hands
   them to constructors, so we capture them before anything can move them. */
static char **saved_argv;
static int saved_argc;

__attribute__((constructor)) static void pulse_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

static char *title_start, *title_end;

/* Measures the argv strings and the environment strings right after them, and moves
   the environment to the heap so the whole area can hold the title. Done once. */
static void claim_title_area(void) {
    char *end = saved_argv[0];
    for (int i = 0; i < saved_argc; i++) {
        if (saved_argv[i] == end) end = saved_argv[i] + strlen(saved_argv[i]) + 1;
    }
    if (environ != NULL) {
        int count = 0;
        while (environ[count] != NULL) count++;
        char **copy = calloc((size_t)count + 1, sizeof(char *));
        if (copy == NULL) return;
        for (int i = 0; i < count; i++) {
            if (environ[i] == end) end = environ[i] + strlen(environ[i]) + 1;
            copy[i] = strdup(environ[i]);
        }
        environ = copy;
    }
    title_start = saved_argv[0];
    title_end = end;
}

void pulse_setproctitle(const char *title) {
    prctl(PR_SET_NAME, (unsigned long)title, 0, 0, 0);
    if (saved_argv == NULL || saved_argc == 0 || saved_argv[0] == NULL) return;
    if (title_start == NULL) claim_title_area();
    if (title_start == NULL) return;
    size_t capacity = (size_t)(title_end - title_start);
    if (capacity < 2) return;
    memset(title_start, 0, capacity);
    strncpy(title_start, title, capacity - 1);
}

void pulse_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    pthread_setname_np(pthread_self(), truncated);
}

int pulse_accept_nonblocking(int listen_fd) {
    return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int pulse_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int pulse_socketpair_cloexec(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

int pulse_dup_cloexec_above(int fd, int minimum) { return fcntl(fd, F_DUPFD_CLOEXEC, minimum); }

int pulse_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
}

int pulse_wifexited(int status) { return WIFEXITED(status); }
int pulse_wexitstatus(int status) { return WEXITSTATUS(status); }
int pulse_wifsignaled(int status) { return WIFSIGNALED(status); }
int pulse_wtermsig(int status) { return WTERMSIG(status); }

void pulse_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
