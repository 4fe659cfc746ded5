/*
 * Unit tests for the syscall shim (uc_syscall.c).
 *
 * The test binary is linked with -Wl,--wrap=ioctl,--wrap=open,--wrap=close,
 * so the shim's calls land in the __wrap_* mocks below instead of libc.
 * Each mock checks the arguments it was given against expect_*() and then
 * plays back a queued return value and errno (will_return()), which lets us
 * drive both the success and the failure path without a kernel device.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/types.h>

#include "CShims.h"

/* Used as errno before a call, to prove it does not leak into the result. */
#define STALE_ERRNO EBADF

/* ----- linker-level mocks --------------------------------------------- */

/*
 * Each mock pops two queued values per call: the return value, then the
 * errno the "kernel" leaves behind (0 = leave errno alone).
 */
static long play_outcome(long ret, int err)
{
	if (err)
		errno = err;
	return ret;
}

/* glibc declares ioctl as variadic; the shim always passes one pointer. */
int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	long ret;
	int err;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	check_expected(fd);
	check_expected(request);
	check_expected_ptr(arg);
	ret = mock_type(long);
	err = mock_type(int);
	return (int)play_outcome(ret, err);
}

/*
 * open is variadic too (mode follows O_CREAT/O_TMPFILE). The test build
 * turns _FORTIFY_SOURCE off so the call is not rerouted to __open_2.
 */
int __wrap_open(const char *path, int flags, ...)
{
	long ret;
	int err;

	check_expected(path);
	check_expected(flags);
	ret = mock_type(long);
	err = mock_type(int);
	return (int)play_outcome(ret, err);
}

int __wrap_close(int fd)
{
	long ret;
	int err;

	check_expected(fd);
	ret = mock_type(long);
	err = mock_type(int);
	return (int)play_outcome(ret, err);
}

ssize_t __wrap_read(int fd, void *buf, size_t count)
{
	long ret;
	int err;

	check_expected(fd);
	check_expected(buf);
	check_expected(count);
	ret = mock_type(long);
	err = mock_type(int);
	return (ssize_t)play_outcome(ret, err);
}

ssize_t __wrap_write(int fd, const void *buf, size_t count)
{
	long ret;
	int err;

	check_expected(fd);
	check_expected(buf);
	check_expected(count);
	ret = mock_type(long);
	err = mock_type(int);
	return (ssize_t)play_outcome(ret, err);
}

/* One expected read or write: fn is __wrap_read or __wrap_write. */
#define EXPECT_IO(fn, fd_, buf_, count_, ret_, err_)                  \
	do {                                                          \
		expect_value(fn, fd, (fd_));                          \
		expect_value(fn, buf, (uintptr_t)(buf_));             \
		expect_value(fn, count, (count_));                    \
		will_return(fn, (ret_));                              \
		will_return(fn, (err_));                              \
	} while (0)

static void expect_ioctl(int fd, unsigned long request, void *arg,
			 long ret, int err)
{
	expect_value(__wrap_ioctl, fd, fd);
	expect_value(__wrap_ioctl, request, request);
	expect_value(__wrap_ioctl, arg, (uintptr_t)arg);
	will_return(__wrap_ioctl, ret);
	will_return(__wrap_ioctl, err);
}

static void expect_open(const char *path, int flags, long ret, int err)
{
	expect_string(__wrap_open, path, path);
	expect_value(__wrap_open, flags, flags);
	will_return(__wrap_open, ret);
	will_return(__wrap_open, err);
}

static void expect_close(int fd, long ret, int err)
{
	expect_value(__wrap_close, fd, fd);
	will_return(__wrap_close, ret);
	will_return(__wrap_close, err);
}

/* ----- ioctl ----------------------------------------------------------- */

/*
 * Request numbers must reach the kernel bit for bit: iommufd uses _IO()
 * values (0x3B80..), vfio's legacy ones carry size/direction bits, and the
 * request is unsigned long, so values above INT_MAX must not be truncated
 * or sign-extended.
 */
static void test_ioctl_passes_request_and_arg(void **state)
{
	static const unsigned long requests[] = {
		0x3B80UL, 0x3B85UL, 0x3B94UL, 0x3B76UL,
		0xC0183B76UL, 0x80000000UL, ULONG_MAX,
	};
	struct { uint32_t size; uint32_t id; } payload = { 8, 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		uc_result r;

		expect_ioctl(7, requests[i], &payload, 0, 0);
		r = uc_ioctl(7, requests[i], &payload);
		assert_int_equal(r.ret, 0);
		assert_int_equal(r.err, 0);
	}
}

/* A NULL argument is legal (the kernel answers EFAULT); pass it as is. */
static void test_ioctl_passes_null_arg(void **state)
{
	uc_result r;

	(void)state;
	expect_ioctl(3, 0x3B81UL, NULL, -1, EFAULT);
	r = uc_ioctl(3, 0x3B81UL, NULL);
	assert_int_equal(r.ret, -1);
	assert_int_equal(r.err, EFAULT);
}

/* Every failure returns -1 and exactly the errno the call produced. */
static void test_ioctl_failure_reports_exact_errno(void **state)
{
	static const int errs[] = {
		ENOTTY, EFAULT, E2BIG, EOPNOTSUPP, ENOENT,
		EINVAL, EBUSY, ENOMEM, EPERM, EOVERFLOW,
	};
	uint64_t arg = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		uc_result r;

		errno = STALE_ERRNO;
		expect_ioctl(5, 0x3B80UL, &arg, -1, errs[i]);
		r = uc_ioctl(5, 0x3B80UL, &arg);
		assert_int_equal(r.ret, -1);
		assert_int_equal(r.err, errs[i]);
	}
}

/* A stale errno from earlier work must not show up on success. */
static void test_ioctl_success_ignores_stale_errno(void **state)
{
	uint64_t arg = 0;
	uc_result r;

	(void)state;
	errno = STALE_ERRNO;
	expect_ioctl(5, 0x3B84UL, &arg, 0, 0);
	r = uc_ioctl(5, 0x3B84UL, &arg);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.err, 0);
}

/* libc may set errno even when a call succeeds; still err 0. */
static void test_ioctl_success_ignores_errno_set_by_call(void **state)
{
	uint64_t arg = 0;
	uc_result r;

	(void)state;
	errno = 0;
	expect_ioctl(5, 0x3B84UL, &arg, 0, EINTR);
	r = uc_ioctl(5, 0x3B84UL, &arg);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.err, 0);
}

/*
 * Some ioctls return a positive value on success: a new fd (the vfio
 * DMA-buf feature, VFIO_GROUP_GET_DEVICE_FD) or a flag
 * (VFIO_CHECK_EXTENSION). It is the result, not an error.
 */
static void test_ioctl_positive_return_passes_through(void **state)
{
	static const long rets[] = { 1, 42, 1023, INT_MAX };
	uint64_t arg = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rets) / sizeof(rets[0]); i++) {
		uc_result r;

		errno = STALE_ERRNO;
		expect_ioctl(9, 0x3B75UL, &arg, rets[i], 0);
		r = uc_ioctl(9, 0x3B75UL, &arg);
		assert_int_equal(r.ret, rets[i]);
		assert_int_equal(r.err, 0);
	}
}

/* ----- open ------------------------------------------------------------ */

/* The shim always adds O_CLOEXEC and keeps the caller's flags. */
static void test_open_adds_cloexec(void **state)
{
	static const int flags[] = {
		O_RDONLY, O_RDWR, O_RDWR | O_NONBLOCK, O_RDWR | O_CLOEXEC,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		uc_result r;

		expect_open("/dev/iommu", flags[i] | O_CLOEXEC, 4, 0);
		r = uc_open("/dev/iommu", flags[i]);
		assert_int_equal(r.ret, 4);
		assert_int_equal(r.err, 0);
	}
}

static void test_open_new_fd_ignores_stale_errno(void **state)
{
	uc_result r;

	(void)state;
	errno = STALE_ERRNO;
	expect_open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC, 17, 0);
	r = uc_open("/dev/vfio/devices/vfio0", O_RDWR);
	assert_int_equal(r.ret, 17);
	assert_int_equal(r.err, 0);
}

static void test_open_failure_reports_exact_errno(void **state)
{
	static const int errs[] = { ENOENT, EACCES, ENODEV, EBUSY, EMFILE };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		uc_result r;

		errno = STALE_ERRNO;
		expect_open("/dev/iommu", O_RDWR | O_CLOEXEC, -1, errs[i]);
		r = uc_open("/dev/iommu", O_RDWR);
		assert_int_equal(r.ret, -1);
		assert_int_equal(r.err, errs[i]);
	}
}

/* ----- close ----------------------------------------------------------- */

static void test_close_success_ignores_stale_errno(void **state)
{
	uc_result r;

	(void)state;
	errno = STALE_ERRNO;
	expect_close(12, 0, 0);
	r = uc_close(12);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.err, 0);
}

static void test_close_failure_reports_exact_errno(void **state)
{
	static const int errs[] = { EBADF, EINTR, EIO };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		uc_result r;

		errno = 0;
		expect_close(-1, -1, errs[i]);
		r = uc_close(-1);
		assert_int_equal(r.ret, -1);
		assert_int_equal(r.err, errs[i]);
	}
}

/* ----- read / write (the event queues) ---------------------------------- */

static void test_read_write_pass_buffer_and_count(void **state)
{
	char buf[48] = { 0 };
	uc_result r;

	(void)state;
	errno = STALE_ERRNO;
	EXPECT_IO(__wrap_read, 7, buf, sizeof(buf), 48, 0);
	r = uc_read(7, buf, sizeof(buf));
	assert_int_equal(r.ret, 48);
	assert_int_equal(r.err, 0);
	EXPECT_IO(__wrap_write, 7, buf, 8, 8, 0);
	r = uc_write(7, buf, 8);
	assert_int_equal(r.ret, 8);
	assert_int_equal(r.err, 0);
}

static void test_read_write_failure_reports_exact_errno(void **state)
{
	static const int errs[] = { ESPIPE, EINVAL, EFAULT };
	char buf[8] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		uc_result r;

		EXPECT_IO(__wrap_read, 5, buf, 3, -1, errs[i]);
		r = uc_read(5, buf, 3);
		assert_int_equal(r.ret, -1);
		assert_int_equal(r.err, errs[i]);
		EXPECT_IO(__wrap_write, 5, buf, 3, -1, errs[i]);
		r = uc_write(5, buf, 3);
		assert_int_equal(r.ret, -1);
		assert_int_equal(r.err, errs[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ioctl_passes_request_and_arg),
		cmocka_unit_test(test_ioctl_passes_null_arg),
		cmocka_unit_test(test_ioctl_failure_reports_exact_errno),
		cmocka_unit_test(test_ioctl_success_ignores_stale_errno),
		cmocka_unit_test(test_ioctl_success_ignores_errno_set_by_call),
		cmocka_unit_test(test_ioctl_positive_return_passes_through),
		cmocka_unit_test(test_open_adds_cloexec),
		cmocka_unit_test(test_open_new_fd_ignores_stale_errno),
		cmocka_unit_test(test_open_failure_reports_exact_errno),
		cmocka_unit_test(test_close_success_ignores_stale_errno),
		cmocka_unit_test(test_close_failure_reports_exact_errno),
		cmocka_unit_test(test_read_write_pass_buffer_and_count),
		cmocka_unit_test(test_read_write_failure_reports_exact_errno),
	};

	/* The return value is the number of failed tests: non-zero exit. */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
