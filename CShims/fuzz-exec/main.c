/* uapi-fuzz-exec DIR [IDLE_SECONDS]: the fuzzer's reference executor.
 * Serves DIR/req-N (N = 0, 1, ...) in order: runs its sequences on this
 * kernel's /dev/iommu and writes DIR/rsp-N (through a rename, so the reader
 * never sees half a file). DIR/hello says it is up. A request of ~0
 * sequences ends it (exit 0); no request for IDLE_SECONDS (default 120) ends
 * it with exit 3, so a host that died leaves no executor behind. A malformed
 * request gets DIR/rsp-N starting "UCFE" and the reason, and exit 2. */
#define _GNU_SOURCE
#include "uc_fuzz_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (1u << 30)

void ucfx_put(struct ucfx_out *o, const void *p, size_t n)
{
	if (o->oom)
		return;
	if (o->n + n > o->cap) {
		size_t cap = o->cap ? o->cap : 1 << 16;
		while (cap < o->n + n)
			cap *= 2;
		uint8_t *q = realloc(o->p, cap);
		if (!q) {
			o->oom = 1;
			return;
		}
		o->p = q;
		o->cap = cap;
	}
	memcpy(o->p + o->n, p, n);
	o->n += n;
}

void ucfx_u8(struct ucfx_out *o, uint8_t v) { ucfx_put(o, &v, 1); }

void ucfx_u32(struct ucfx_out *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	ucfx_put(o, b, 4);
}

void ucfx_u64(struct ucfx_out *o, uint64_t v)
{
	ucfx_u32(o, (uint32_t)v);
	ucfx_u32(o, (uint32_t)(v >> 32));
}

const uint8_t *ucfx_take(struct ucfx_in *in, size_t n)
{
	if (in->bad || n > in->n - in->at) {
		in->bad = 1;
		return NULL;
	}
	const uint8_t *p = in->p + in->at;
	in->at += n;
	return p;
}

static uint64_t get(struct ucfx_in *in, unsigned n)
{
	const uint8_t *p = ucfx_take(in, n);
	uint64_t v = 0;
	for (unsigned i = 0; p && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t ucfx_get8(struct ucfx_in *in) { return (uint8_t)get(in, 1); }
uint16_t ucfx_get16(struct ucfx_in *in) { return (uint16_t)get(in, 2); }
uint32_t ucfx_get32(struct ucfx_in *in) { return (uint32_t)get(in, 4); }
uint64_t ucfx_get64(struct ucfx_in *in) { return get(in, 8); }

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The whole file, or NULL (errno set). */
static uint8_t *slurp(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > MAX_REQUEST) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	uint8_t *p = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (p && got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (p && got != (size_t)st.st_size) {
		free(p);
		errno = EIO;
		return NULL;
	}
	*n = got;
	return p;
}

/* Writes DIR/NAME through DIR/NAME.tmp and a rename. */
static int publish(const char *dir, const char *name, const void *p, size_t n)
{
	char tmp[4096], path[4096];
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, (const uint8_t *)p + done, n - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (close(fd) != 0 || done != n)
		return -1;
	return rename(tmp, path);
}

/* Waits for DIR/req-N; NULL after `idle` seconds without it. */
static uint8_t *next_request(const char *dir, unsigned n, double idle, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/req-%08u", dir, n);
	double start = now();
	long pause = 20000;
	for (;;) {
		uint8_t *p = slurp(path, len);
		if (p) {
			unlink(path);
			return p;
		}
		if (errno != ENOENT || now() - start > idle)
			return NULL;
		struct timespec t = { 0, pause };
		nanosleep(&t, NULL);
		if (pause < 2000000)
			pause += pause / 2;
	}
}

static int fail(const char *dir, unsigned n, const char *why)
{
	char name[64];
	struct ucfx_out o = { 0 };
	ucfx_put(&o, "UCFE", 4);
	ucfx_put(&o, why, strlen(why));
	snprintf(name, sizeof(name), "rsp-%08u", n);
	publish(dir, name, o.p, o.n);
	fprintf(stderr, "uapi-fuzz-exec: error: request %u: %s\n", n, why);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: uapi-fuzz-exec DIR [IDLE_SECONDS]\n");
		return 2;
	}
	const char *dir = argv[1];
	char *end = NULL;
	double idle = argc == 3 ? strtod(argv[2], &end) : 120;
	if ((argc == 3 && (*end || !(idle > 0))) || strlen(dir) > 3000) {
		fprintf(stderr, "uapi-fuzz-exec: error: bad arguments\n");
		return 2;
	}
	uint8_t hello[8] = { 'U', 'C', 'F', 'H', UCFX_VERSION, 0, 0, 0 };
	if (publish(dir, "hello", hello, sizeof(hello)) != 0) {
		fprintf(stderr, "uapi-fuzz-exec: error: cannot write %s/hello: %s\n", dir, strerror(errno));
		return 2;
	}
	for (unsigned n = 0;; n++) {
		size_t len = 0;
		uint8_t *req = next_request(dir, n, idle, &len);
		if (!req) {
			fprintf(stderr, "uapi-fuzz-exec: no request %u (%s); stopping\n", n, strerror(errno));
			return 3;
		}
		struct ucfx_in in = { req, len, 0, 0 };
		if (len >= 12 && memcmp(req, "UCFQ", 4) == 0 && req[8] == 0xff && req[9] == 0xff && req[10] == 0xff
		    && req[11] == 0xff) {
			free(req);
			return 0;
		}
		struct ucfx_out out = { 0 };
		const char *why = NULL;
		char name[64];
		if (ucfx_serve(&in, &out, &why) != 0)
			return fail(dir, n, why);
		snprintf(name, sizeof(name), "rsp-%08u", n);
		if (publish(dir, name, out.p, out.n) != 0)
			return fail(dir, n, "cannot write the response");
		free(out.p);
		free(req);
	}
}
