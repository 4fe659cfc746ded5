/*
 * Tests of libuapi-sim.so from the outside: this program runs under
 * `uapi-conform sim-exec` (CShims/Makefile, test-preload) and uses
 * /dev/iommu as any program would. Each test checks what a real device
 * node would do: numbering, dup and close, fork, poll, user memory, and that
 * nothing that is not simulated is touched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/iommufd.h>

static int open_iommu(void)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static uint32_t ioas_alloc(int fd)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

/* Ids come from one table per open file, lowest free first. */
static void test_open_alloc(void **state)
{
	int fd = open_iommu();
	(void)state;
	assert_int_equal(ioas_alloc(fd), 1);
	assert_int_equal(ioas_alloc(fd), 2);
	assert_int_equal(close(fd), 0);
	fd = open_iommu();
	assert_int_equal(ioas_alloc(fd), 1);
	assert_int_equal(close(fd), 0);
}

/* A closed descriptor's number is free again, as for any file. */
static void test_numbering(void **state)
{
	int a = open_iommu(), b;
	(void)state;
	assert_int_equal(close(a), 0);
	b = open_iommu();
	assert_int_equal(a, b);
	assert_int_equal(close(b), 0);
	assert_int_equal(close(b), -1);
	assert_int_equal(errno, EBADF);
}

/* dup gives one more descriptor of the same open file; it lives until the last close. */
static void test_dup(void **state)
{
	int fd = open_iommu(), d = dup(fd), f = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	(void)state;
	assert_true(d >= 0 && f >= 100);
	assert_int_equal(ioas_alloc(fd), 1);
	assert_int_equal(ioas_alloc(d), 2);
	assert_int_equal(close(fd), 0);
	assert_int_equal(ioas_alloc(f), 3);
	assert_int_equal(close(d), 0);
	assert_int_equal(ioas_alloc(f), 4);
	assert_int_equal(close(f), 0);
}

/* A forked child keeps its own copy of the simulated state, as of its descriptors. */
static void test_fork(void **state)
{
	int fd = open_iommu(), status = 0;
	pid_t pid;
	(void)state;
	assert_int_equal(ioas_alloc(fd), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ioas_alloc(fd) == 2 && ioas_alloc(fd) == 3 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(ioas_alloc(fd), 2);
	assert_int_equal(close(fd), 0);
}

/* The kernel writes through user pointers into this process's memory; an unmapped one is EFAULT. */
static void test_user_memory(void **state)
{
	struct iommu_iova_range *ranges = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .num_iovas = 1 };
	int fd = open_iommu();
	(void)state;
	assert_true(ranges != MAP_FAILED);
	cmd.ioas_id = ioas_alloc(fd);
	cmd.allowed_iovas = (uintptr_t)ranges;
	assert_int_equal(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	assert_int_equal(cmd.num_iovas, 1);
	assert_true(ranges[0].start == 0 && ranges[0].last == UINT64_MAX);
	assert_int_equal(munmap(ranges, 4096), 0);
	assert_int_equal(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, (void *)8), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(close(fd), 0);
}

/* A fault queue's descriptor polls like a file: nothing pending, not readable; it cannot be mapped. */
static void test_queue_fd(void **state)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	struct pollfd p = { .events = POLLIN };
	int fd = open_iommu();
	(void)state;
	assert_int_equal(ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd), 0);
	p.fd = (int)cmd.out_fault_fd;
	assert_int_equal(poll(&p, 1, 0), 0);
	p.events = POLLIN | POLLOUT;
	assert_int_equal(poll(&p, 1, 0), 1);  /* writable (responses), nothing to read */
	assert_int_equal(p.revents, POLLOUT);
	assert_true(mmap(NULL, 4096, PROT_READ, MAP_SHARED, p.fd, 0) == MAP_FAILED);
	assert_int_equal(errno, ENODEV);
	assert_int_equal(close(p.fd), 0);
	assert_int_equal(close(fd), 0);
}

/* Paths and descriptors that are not simulated are libc's own. */
static void test_others_untouched(void **state)
{
	int pipes[2], n = -1;
	char c = 0;
	(void)state;
	assert_int_equal(open("/dev/iommu-not-a-node", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(pipe(pipes), 0);
	assert_int_equal(write(pipes[1], "x", 1), 1);
	assert_int_equal(ioctl(pipes[0], FIONREAD, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(read(pipes[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	assert_int_equal(ioctl(pipes[0], IOMMU_IOAS_ALLOC, &n), -1);
	assert_int_equal(errno, ENOTTY);
	assert_int_equal(close(pipes[0]), 0);
	assert_int_equal(close(pipes[1]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_alloc),      cmocka_unit_test(test_numbering),
		cmocka_unit_test(test_dup),             cmocka_unit_test(test_fork),
		cmocka_unit_test(test_user_memory),     cmocka_unit_test(test_queue_fd),
		cmocka_unit_test(test_others_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
