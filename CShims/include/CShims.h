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

#endif
