/*
 * LD_PRELOAD interposer for libuapi-sim.so: /dev/iommu and the simulated vfio
 * cdevs exist for any dynamically linked program, served in-process by the
 * simulated kernel (Sources/Preload, Swift, behind the ucsim_* entry points).
 * Every other path and descriptor goes straight to libc. Each simulated file
 * has a real eventfd underneath, so numbering, close, dup, poll and fork work
 * as for a device node; the table below says which descriptors are ours.
 */
#define _GNU_SOURCE
#include "uc_preload.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* The simulator (Swift, @_cdecl). Each returns -1 with *err set on failure. */
int ucsim_claims(const char *path);
int ucsim_open(const char *path, int cloexec, int *err);
int ucsim_close(int fd);
int ucsim_dup(int fd, int newfd);
long ucsim_ioctl(int fd, unsigned long request, void *arg, int *err);
long ucsim_read(int fd, void *buf, size_t count, int *err);
long ucsim_write(int fd, const void *buf, size_t count, int *err);
void *ucsim_mmap(int fd, void *addr, size_t length, int prot, int flags, long offset, int *err);
void ucsim_munmap(void *addr, size_t length);

int ucsim_init(void);

/* Bumped by every mmap, mprotect and munmap through here: the simulator's copy of
 * /proc/self/maps is good until it changes. */
unsigned long uc_map_generation;

unsigned long uc_preload_map_generation(void) { return __atomic_load_n(&uc_map_generation, __ATOMIC_RELAXED); }

/* Load the profile and make the simulated kernel once, in the process that
 * execs: every forked child then starts from that copy instead of loading it
 * again (a test harness forks once per test). */
__attribute__((constructor)) static void uc_preload_init(void)
{
	ucsim_init();
}

#define UC_MAX_FD 65536
static unsigned char simulated[UC_MAX_FD];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int ours(int fd) { return fd >= 0 && fd < UC_MAX_FD && simulated[fd]; }

void uc_preload_mark(int fd, int on)
{
	if (fd >= 0 && fd < UC_MAX_FD)
		simulated[fd] = (unsigned char)(on ? 1 : 0);
}

/* libc's symbol, looked up once past this library. */
#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

int uc_real_close(int fd) { REAL(close); return real_close(fd); }
ssize_t uc_real_read(int fd, void *buf, size_t count) { REAL(read); return real_read(fd, buf, count); }
ssize_t uc_real_write(int fd, const void *buf, size_t count) { REAL(write); return real_write(fd, buf, count); }
void *uc_real_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	REAL(mmap);
	return real_mmap(addr, length, prot, flags, fd, offset);
}

int uc_preload_reserve(int cloexec)
{
	return eventfd(0, EFD_NONBLOCK | (cloexec ? EFD_CLOEXEC : 0));
}

void uc_preload_signal(int fd, int readable)
{
	uint64_t v = 1;
	if (readable) {
		/* An eventfd counter that is already non-zero stays readable. */
		if (uc_real_write(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return;
	} else {
		while (uc_real_read(fd, &v, sizeof(v)) > 0) {}
	}
}

long uc_mem_read(void *dst, uint64_t addr, size_t count)
{
	struct iovec local = { dst, count }, remote = { (void *)(uintptr_t)addr, count };
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return n < 0 ? 0 : (long)n;
}

int uc_mem_write(uint64_t addr, const void *src, size_t count)
{
	struct iovec local = { (void *)src, count }, remote = { (void *)(uintptr_t)addr, count };
	return process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)count ? 0 : -1;
}

int uc_mem_mapped(uint64_t addr, uint64_t count)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), start = addr / page * page, end = addr + count;
	if (!addr || end < addr || end > (1ULL << 47))
		return 0;
	return count == 0 || msync((void *)(uintptr_t)start, end - start, MS_ASYNC) == 0;
}

/* Open `path` simulated when it is one of ours: -2 when not. */
static int sim_open(const char *path, int flags)
{
	int err = 0, fd;
	/* Every absolute open of the program passes here: only /dev/ paths reach the simulator's own check. */
	if (!path || strncmp(path, "/dev/", 5) != 0 || !ucsim_claims(path))
		return -2;
	pthread_mutex_lock(&lock);
	fd = ucsim_open(path, (flags & O_CLOEXEC) != 0, &err);
	pthread_mutex_unlock(&lock);
	if (fd < 0)
		errno = err;
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

#define OPENAT_LIKE(name) \
	int name(int dirfd, const char *path, int flags, ...) \
	{ \
		va_list ap; \
		mode_t mode; \
		int fd = (path && path[0] == '/') ? sim_open(path, flags) : -2; \
		REAL(name); \
		if (fd != -2) \
			return fd; \
		va_start(ap, flags); \
		mode = mode_arg(flags, ap); \
		va_end(ap); \
		return real_##name(dirfd, path, flags, mode); \
	}
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

/* open(path) is openat(AT_FDCWD, path): one place decides what is ours. */
#define OPEN_LIKE(name, at) \
	int name(const char *path, int flags, ...) \
	{ \
		va_list ap; \
		mode_t mode; \
		va_start(ap, flags); \
		mode = mode_arg(flags, ap); \
		va_end(ap); \
		return at(AT_FDCWD, path, flags, mode); \
	}
OPEN_LIKE(open, openat)
OPEN_LIKE(open64, openat64)

/* _FORTIFY_SOURCE's checked variants. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open64(path, flags); }
int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char *path, int flags) { return openat64(dirfd, path, flags); }

int close(int fd)
{
	REAL(close);
	if (ours(fd)) {
		pthread_mutex_lock(&lock);
		ucsim_close(fd);
		uc_preload_mark(fd, 0);
		pthread_mutex_unlock(&lock);
	}
	return real_close(fd);
}

/* After a real dup of a simulated descriptor: `newfd` is one more of its file. */
static int dup_result(int fd, int newfd)
{
	if (newfd >= 0 && ours(fd)) {
		pthread_mutex_lock(&lock);
		ucsim_dup(fd, newfd);
		uc_preload_mark(newfd, 1);
		pthread_mutex_unlock(&lock);
	}
	return newfd;
}

/* dup2/dup3 onto a simulated descriptor closes that one first. */
static void replaced(int oldfd, int newfd)
{
	if (oldfd != newfd && ours(newfd)) {
		pthread_mutex_lock(&lock);
		ucsim_close(newfd);
		uc_preload_mark(newfd, 0);
		pthread_mutex_unlock(&lock);
	}
}

int dup(int fd) { REAL(dup); return dup_result(fd, real_dup(fd)); }

int dup2(int oldfd, int newfd)
{
	int r;
	REAL(dup2);
	if (oldfd == newfd)
		return real_dup2(oldfd, newfd);
	replaced(oldfd, newfd);
	r = real_dup2(oldfd, newfd);
	return dup_result(oldfd, r);
}

int dup3(int oldfd, int newfd, int flags)
{
	int r;
	REAL(dup3);
	if (oldfd != newfd)
		replaced(oldfd, newfd);
	r = real_dup3(oldfd, newfd, flags);
	return oldfd == newfd ? r : dup_result(oldfd, r);
}

#define FCNTL_LIKE(name) \
	int name(int fd, int cmd, ...) \
	{ \
		va_list ap; \
		long arg; \
		int r; \
		REAL(name); \
		va_start(ap, cmd); \
		arg = va_arg(ap, long); \
		va_end(ap); \
		r = real_##name(fd, cmd, arg); \
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) \
			return dup_result(fd, r); \
		return r; \
	}
FCNTL_LIKE(fcntl)
FCNTL_LIKE(fcntl64)

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	long r;
	int err = 0;
	REAL(ioctl);
	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!ours(fd))
		return real_ioctl(fd, request, arg);
	pthread_mutex_lock(&lock);
	r = ucsim_ioctl(fd, request, arg, &err);
	pthread_mutex_unlock(&lock);
	if (r < 0)
		errno = err;
	return (int)r;
}

/* read and write: a simulated queue's records, else libc's. */
#define IO_LIKE(name, buf_type) \
	ssize_t name(int fd, buf_type buf, size_t count) \
	{ \
		long r; \
		int err = 0; \
		if (!ours(fd)) \
			return uc_real_##name(fd, buf, count); \
		pthread_mutex_lock(&lock); \
		r = ucsim_##name(fd, buf, count, &err); \
		pthread_mutex_unlock(&lock); \
		if (r < 0) \
			errno = err; \
		return r; \
	}
IO_LIKE(read, void *)
IO_LIKE(write, const void *)

/* A simulated file's regions (the mock vIOMMU's pages) come from the simulator; munmap releases them. */
#define MMAP_LIKE(name) \
	void *name(void *addr, size_t length, int prot, int flags, int fd, off_t offset) \
	{ \
		void *p; \
		int err = 0; \
		REAL(name); \
		__atomic_add_fetch(&uc_map_generation, 1, __ATOMIC_RELAXED); \
		if ((flags & MAP_ANONYMOUS) || !ours(fd)) \
			return real_##name(addr, length, prot, flags, fd, offset); \
		pthread_mutex_lock(&lock); \
		p = ucsim_mmap(fd, addr, length, prot, flags, (long)offset, &err); \
		pthread_mutex_unlock(&lock); \
		if (!p) { \
			errno = err; \
			return MAP_FAILED; \
		} \
		return p; \
	}
MMAP_LIKE(mmap)
MMAP_LIKE(mmap64)

/* A protection change is a mapping change too: a PROT_NONE page cannot be pinned (or read). */
int mprotect(void *addr, size_t length, int prot)
{
	REAL(mprotect);
	__atomic_add_fetch(&uc_map_generation, 1, __ATOMIC_RELAXED);
	return real_mprotect(addr, length, prot);
}

int munmap(void *addr, size_t length)
{
	int r;
	REAL(munmap);
	__atomic_add_fetch(&uc_map_generation, 1, __ATOMIC_RELAXED);
	r = real_munmap(addr, length);
	if (r == 0) {
		pthread_mutex_lock(&lock);
		ucsim_munmap(addr, length);
		pthread_mutex_unlock(&lock);
	}
	return r;
}
