#ifndef UAPI_CONFORM_CSHIMS_H
#define UAPI_CONFORM_CSHIMS_H
#include <stddef.h>
#include <stdint.h>

/* Result of one syscall: the return value and errno captured right after it,
 * so nothing in between (Swift runtime, allocator) can clobber errno. */
typedef struct {
    long ret;
    int err;
} uc_result;

uc_result uc_open(const char *path, int flags);
uc_result uc_ioctl(int fd, unsigned long request, void *arg);
uc_result uc_close(int fd);
uc_result uc_read(int fd, void *buf, size_t count);
uc_result uc_write(int fd, const void *buf, size_t count);

/* Limits of a child process; 0 = none (output: 16 MiB). */
typedef struct {
    double timeout_s;          /* wall time, then its process group is killed */
    long long address_space;   /* RLIMIT_AS in bytes */
    long long output_bytes;    /* per captured stream; past it the group is killed */
} uc_limits;

typedef struct {
    int status;        /* exit status, 128 + signal when killed, -1 when it never ran */
    int signal;        /* the signal that ended it, or 0 */
    int timed_out;     /* the timeout killed it */
    int output_capped; /* a captured stream went past output_bytes: killed */
    int error;         /* errno of a failed pipe, fork or wait */
    char *out, *err;   /* captured streams (not NUL-terminated); uc_proc_free */
    size_t out_len, err_len;
} uc_proc_result;

/* Runs argv (argv[0] looked up on PATH) in its own process group with stdin
 * from stdin_fd (-1: /dev/null); stdout/stderr are captured when asked, else
 * inherited.
 * The group is killed on timeout or too much output, and when this process
 * gets SIGINT, SIGTERM or SIGHUP (TERM, then KILL after 5 s). Thread safe. */
uc_proc_result uc_run(const char *const argv[], int stdin_fd, int capture_out, int capture_err, const uc_limits *limits);
void uc_proc_free(uc_proc_result *r);

/* An anonymous in-memory file (memfd, close-on-exec), for a child's stdin. */
int uc_memfd(const char *name);

#endif
