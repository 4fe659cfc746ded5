#include "CShims.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

uc_result uc_open(const char *path, int flags)
{
	uc_result r;
	errno = 0;
	r.ret = open(path, flags | O_CLOEXEC);
	r.err = r.ret < 0 ? errno : 0;
	return r;
}

uc_result uc_ioctl(int fd, unsigned long request, void *arg)
{
	uc_result r;
	errno = 0;
	r.ret = ioctl(fd, request, arg);
	r.err = r.ret < 0 ? errno : 0;
	return r;
}

uc_result uc_close(int fd)
{
	uc_result r;
	errno = 0;
	r.ret = close(fd);
	r.err = r.ret < 0 ? errno : 0;
	return r;
}

uc_result uc_read(int fd, void *buf, size_t count)
{
	uc_result r;
	errno = 0;
	r.ret = read(fd, buf, count);
	r.err = r.ret < 0 ? errno : 0;
	return r;
}

uc_result uc_write(int fd, const void *buf, size_t count)
{
	uc_result r;
	errno = 0;
	r.ret = write(fd, buf, count);
	r.err = r.ret < 0 ? errno : 0;
	return r;
}
