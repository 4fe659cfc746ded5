/* The LD_PRELOAD interposer of libuapi-sim.so (uapi-conform sim-exec). */
#ifndef UC_PRELOAD_H
#define UC_PRELOAD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* libc's own entry points, past the interposer: the simulator's own I/O on its
 * placeholder descriptors must not come back into it. */
int uc_real_close(int fd);
ssize_t uc_real_read(int fd, void *buf, size_t count);
ssize_t uc_real_write(int fd, const void *buf, size_t count);
void *uc_real_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);

/* A new real descriptor to stand for a simulated file (an eventfd: it polls
 * readable when signalled, is inherited by fork, numbered like any file); -1 with errno set. */
int uc_preload_reserve(int cloexec);
/* Mark or unmark `fd` as simulated in the interposer's table. */
void uc_preload_mark(int fd, int on);
/* Poll readiness of a simulated file: readable or not. */
void uc_preload_signal(int fd, int readable);

/* This process's memory as a kernel sees a user's (process_vm_readv/writev on
 * ourselves): a copy from or to an unmapped address fails instead of faulting.
 * uc_mem_read returns the bytes copied (a prefix), uc_mem_write 0 or -1;
 * uc_mem_mapped 1 when every page of the range is mapped (msync). */
long uc_mem_read(void *dst, uint64_t addr, size_t count);
int uc_mem_write(uint64_t addr, const void *src, size_t count);
int uc_mem_mapped(uint64_t addr, uint64_t count);
/* Changes whenever the process maps or unmaps memory through the interposer. */
unsigned long uc_preload_map_generation(void);

#endif
