/* One request of the reference executor: its sequences, each on its own
 * /dev/iommu, with the semantics of Sources/Fuzz/Side.swift's SideRun. */
#define _GNU_SOURCE
#include "uc_fuzz_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define ALIGN (2u << 20)

struct op {
	uint64_t request;
	uint8_t target, nout, nunion;
	uint32_t out[8];
	uint32_t union_op[8], union_at[8];
};

struct table {
	uint32_t nops;
	struct op ops[UCFX_MAX_OPS];
	uint32_t probe, probe_size, probe_at, probe_width;
};

/* One sequence's descriptors and what each successful call left in its struct. */
struct run {
	int iommufd, vfio;
	int fds[UCFX_MAX_SERIAL];
	unsigned nfds;
	uint8_t *outputs[UCFX_MAX_SERIAL];
	uint32_t output_len[UCFX_MAX_SERIAL];
	uint32_t serials;
};

/* User buffers, as UserMemory makes them: whole pages at a 2 MiB boundary, then an unmapped page.
 * Mapping and unmapping them for every call is most of a call's cost under TCG, so a slot is kept
 * across sequences and handed out again zeroed (nothing pins it once the sequence's iommufd is closed). */
struct slot { uint8_t *start, *base; size_t length, rw; int used; };
static struct slot *slots;
static unsigned nslots, capslots;

static uint8_t arg[UCFX_MAX_LEN] __attribute__((aligned(4096)));

static uint64_t load(const uint8_t *p, uint32_t at, uint32_t width, uint32_t len)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < width && at + i < len; i++)
		v |= (uint64_t)p[at + i] << (8 * i);
	return v;
}

static void store(uint8_t *p, uint32_t at, uint32_t width, uint32_t len, uint64_t v)
{
	for (uint32_t i = 0; i < width && at + i < len; i++)
		p[at + i] = (uint8_t)(v >> (8 * i));
}

/* A slot's base is 2 MiB-aligned and, like every simulated buffer's, never has its low 32 bits 0: a pointer
 * read through another member of a union (a flags word, an id, a descriptor) must not be 0 on this side only
 * (seen by the fuzzer on 7.2: ACCESS_RW's flags over ACCESS_PAGES' uptr). */
static int reserve(struct slot *sl, size_t mapped)
{
	size_t length = mapped + PAGE + ALIGN;
	void *start = mmap(NULL, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (start == MAP_FAILED)
		return -1;
	uintptr_t base = ((uintptr_t)start + ALIGN - 1) / ALIGN * ALIGN;
	/* Rarely: a reservation one boundary longer, so the base can move on. (Always reserving that much
	 * made the fuzz lane a third slower under TCG.) */
	if ((base & 0xffffffffu) == 0) {
		munmap(start, length);
		length += ALIGN;
		start = mmap(NULL, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (start == MAP_FAILED)
			return -1;
		base = ((uintptr_t)start + ALIGN - 1) / ALIGN * ALIGN;
		if ((base & 0xffffffffu) == 0)
			base += ALIGN;
	}
	*sl = (struct slot){ start, (uint8_t *)base, length, 0, 0 };
	return 0;
}

/* `size` bytes of zeroed, writable memory with the unmapped page after its last whole page. */
static uint8_t *buffer(uint32_t size)
{
	size_t mapped = size ? (size + PAGE - 1) / PAGE * PAGE : PAGE;
	struct slot *sl = NULL;
	for (unsigned i = 0; i < nslots && !sl; i++)
		if (!slots[i].used && (size_t)(slots[i].start + slots[i].length - slots[i].base) >= mapped + PAGE)
			sl = &slots[i];
	if (!sl) {
		if (nslots == capslots) {
			unsigned cap = capslots ? 2 * capslots : 32;
			struct slot *m = realloc(slots, cap * sizeof(*m));
			if (!m)
				return NULL;
			slots = m;
			capslots = cap;
		}
		if (reserve(&slots[nslots], mapped) != 0)
			return NULL;
		sl = &slots[nslots++];
	}
	if (sl->rw != mapped) {
		if (sl->rw > mapped && mprotect(sl->base + mapped, sl->rw - mapped, PROT_NONE) != 0)
			return NULL;
		if (sl->rw < mapped && mprotect(sl->base + sl->rw, mapped - sl->rw, PROT_READ | PROT_WRITE) != 0)
			return NULL;
		sl->rw = mapped;
	}
	/* Fresh pages read as zero: small ones are cleared, large ones given back. */
	if (mapped <= 16 * PAGE)
		memset(sl->base, 0, mapped);
	else
		madvise(sl->base, mapped, MADV_DONTNEED);
	sl->used = 1;
	return sl->base;
}

static void keep_fd(struct run *r, const uint8_t *back, uint32_t at, uint32_t len)
{
	if (r->nfds < UCFX_MAX_SERIAL && at + 4 <= len)
		r->fds[r->nfds++] = (int)(uint32_t)load(back, at, 4, len);
}

struct pending { uint8_t *base; uint32_t size; const uint8_t *initial; uint32_t n; };

/* One patch: its value on this side, and the buffer it made (if any). */
static uint64_t resolve(struct ucfx_in *in, struct run *r, uint8_t kind, struct pending *buf)
{
	switch (kind) {
	case UCFX_IOMMUFD:
		return (uint32_t)r->iommufd;
	case UCFX_OUTPUT:
	case UCFX_FD: {
		uint32_t serial = ucfx_get32(in), at = ucfx_get32(in), width = ucfx_get32(in);
		uint64_t otherwise = ucfx_get64(in);
		if (serial < UCFX_MAX_SERIAL && r->outputs[serial] && width <= 8)
			return load(r->outputs[serial], at, width, r->output_len[serial]);
		return otherwise;
	}
	case UCFX_BUFFER: {
		uint32_t size = ucfx_get32(in), offset = ucfx_get32(in), n = ucfx_get32(in);
		const uint8_t *bytes = ucfx_take(in, n);
		if (!bytes || size > UCFX_MAX_BUFFER || n > size) {
			in->bad = 1;
			return 0;
		}
		*buf = (struct pending){ buffer(size), size, bytes, n };
		if (!buf->base)
			return 0;
		memcpy(buf->base, bytes, n);
		return (uint64_t)(uintptr_t)buf->base + offset;
	}
	}
	in->bad = 1;
	return 0;
}

static void report_buffer(struct ucfx_out *out, const struct pending *b)
{
	int changed = 0;
	if (b->base) {
		changed = memcmp(b->base, b->initial, b->n) != 0;
		for (uint32_t i = b->n; i < b->size && !changed; i++)
			changed = b->base[i] != 0;
	}
	ucfx_u8(out, (uint8_t)changed);
	if (changed)
		ucfx_put(out, b->base, b->size);
}

static void call(struct ucfx_in *in, struct ucfx_out *out, const struct table *t, struct run *r)
{
	uint8_t null = ucfx_get8(in);
	uint16_t npatch = ucfx_get16(in);
	uint32_t opi = ucfx_get32(in), serial = ucfx_get32(in), len = ucfx_get32(in);
	const uint8_t *bytes = ucfx_take(in, len);
	if (!bytes || opi >= t->nops || len > UCFX_MAX_LEN || serial >= UCFX_MAX_SERIAL || npatch > 64) {
		in->bad = 1;
		return;
	}
	const struct op *op = &t->ops[opi];
	static uint8_t sent[UCFX_MAX_LEN];
	uint64_t values[64];
	struct pending bufs[64];
	unsigned nbufs = 0;
	memcpy(arg, bytes, len);
	for (unsigned i = 0; i < npatch && !in->bad; i++) {
		uint32_t at = ucfx_get32(in);
		uint8_t width = ucfx_get8(in), kind = ucfx_get8(in);
		(void)ucfx_get16(in);
		values[i] = resolve(in, r, kind, &bufs[nbufs]);
		if (kind == UCFX_BUFFER)
			nbufs++;
		store(arg, at, width, len, values[i]);
	}
	if (in->bad)
		return;
	memcpy(sent, arg, len);
	int fd = op->target == 0 ? r->iommufd : r->vfio;
	long ret = ioctl(fd, (unsigned long)op->request, null ? NULL : (void *)arg);
	int64_t result = ret < 0 ? -(int64_t)errno : ret;
	ucfx_u64(out, (uint64_t)result);
	for (unsigned i = 0; i < npatch; i++)
		ucfx_u64(out, values[i]);
	if (null) {
		ucfx_u8(out, 0);
	} else if (memcmp(arg, sent, len) == 0) {
		ucfx_u8(out, 1);
	} else {
		ucfx_u8(out, 2);
		ucfx_put(out, arg, len);
	}
	for (unsigned i = 0; i < nbufs; i++)
		report_buffer(out, &bufs[i]);
	if (result < 0 || null)
		return;
	free(r->outputs[serial]);
	if (serial >= r->serials)
		r->serials = serial + 1;
	r->outputs[serial] = malloc(len ? len : 1);
	if (r->outputs[serial])
		memcpy(r->outputs[serial], arg, len);
	r->output_len[serial] = r->outputs[serial] ? len : 0;
	for (unsigned i = 0; i < op->nout; i++)
		keep_fd(r, arg, op->out[i], len);
	for (unsigned i = 0; i < op->nunion; i++)
		if (load(arg, 4, 4, len) == op->union_op[i])
			keep_fd(r, arg, op->union_at[i], len);
}

/* The object table as any process reads it: HWPT_INVALIDATE with no entries on each id. */
static void probe(struct ucfx_in *in, struct ucfx_out *out, const struct table *t, struct run *r)
{
	uint32_t up_to = ucfx_get32(in);
	if (up_to > UCFX_MAX_PROBE || (up_to && t->probe >= t->nops) || t->probe_size > UCFX_MAX_LEN) {
		in->bad = 1;
		return;
	}
	if (r->iommufd < 0)
		up_to = 0;
	ucfx_u32(out, up_to);
	for (uint32_t id = 1; id <= up_to; id++) {
		memset(arg, 0, t->probe_size);
		store(arg, 0, 4, t->probe_size, t->probe_size);
		store(arg, t->probe_at, t->probe_width, t->probe_size, id);
		long ret = ioctl(r->iommufd, (unsigned long)t->ops[t->probe].request, arg);
		ucfx_u32(out, ret < 0 ? (uint32_t)errno : 0);
	}
}

static void closing(struct ucfx_out *out, struct run *r)
{
	static uint32_t fails[UCFX_MAX_SERIAL + 2][3];
	uint32_t n = 0;
	while (r->nfds > 0) {
		int fd = r->fds[--r->nfds];
		if (close(fd) != 0)
			fails[n][0] = UCFX_CLOSE_FD, fails[n][1] = (uint32_t)fd, fails[n++][2] = (uint32_t)errno;
	}
	if (r->vfio >= 0 && close(r->vfio) != 0)
		fails[n][0] = UCFX_CLOSE_VFIO, fails[n][1] = (uint32_t)r->vfio, fails[n++][2] = (uint32_t)errno;
	if (r->iommufd >= 0 && close(r->iommufd) != 0)
		fails[n][0] = UCFX_CLOSE_IOMMUFD, fails[n][1] = (uint32_t)r->iommufd, fails[n++][2] = (uint32_t)errno;
	ucfx_u32(out, n);
	for (uint32_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			ucfx_u32(out, fails[i][k]);
	for (unsigned i = 0; i < nslots; i++)
		slots[i].used = 0;
	for (unsigned i = 0; i < r->serials; i++) {
		free(r->outputs[i]);
		r->outputs[i] = NULL;
	}
	r->serials = 0;
}

static int sequence(struct ucfx_in *in, struct ucfx_out *out, const struct table *t)
{
	static struct run r; /* closing() leaves it empty for the next sequence */
	uint32_t flags = ucfx_get32(in), nactions = ucfx_get32(in);
	r.iommufd = open("/dev/iommu", O_RDWR);
	ucfx_u32(out, r.iommufd < 0 ? (uint32_t)errno : 0);
	r.vfio = -1;
	if ((flags & 1) && r.iommufd >= 0)
		r.vfio = open("/dev/vfio/devices/vfio0", O_RDWR);
	ucfx_u32(out, (flags & 1) && r.iommufd >= 0 && r.vfio < 0 ? (uint32_t)errno : 0);
	ucfx_u32(out, nactions);
	for (uint32_t i = 0; i < nactions && !in->bad; i++) {
		uint8_t kind = ucfx_get8(in);
		if (kind == UCFX_CALL)
			call(in, out, t, &r);
		else if (kind == UCFX_PROBE)
			probe(in, out, t, &r);
		else
			in->bad = 1;
	}
	closing(out, &r);
	return in->bad ? -1 : 0;
}

static int table(struct ucfx_in *in, struct table *t)
{
	t->nops = ucfx_get32(in);
	if (t->nops > UCFX_MAX_OPS)
		return -1;
	for (uint32_t i = 0; i < t->nops; i++) {
		struct op *op = &t->ops[i];
		op->request = ucfx_get64(in);
		op->target = ucfx_get8(in);
		op->nout = ucfx_get8(in);
		op->nunion = ucfx_get8(in);
		(void)ucfx_get8(in);
		if (op->nout > 8 || op->nunion > 8)
			return -1;
		for (unsigned k = 0; k < op->nout; k++)
			op->out[k] = ucfx_get32(in);
		for (unsigned k = 0; k < op->nunion; k++)
			op->union_op[k] = ucfx_get32(in), op->union_at[k] = ucfx_get32(in);
	}
	t->probe = ucfx_get32(in);
	t->probe_size = ucfx_get32(in);
	t->probe_at = ucfx_get32(in);
	t->probe_width = ucfx_get32(in);
	return in->bad || t->probe_width > 8 ? -1 : 0;
}

int ucfx_serve(struct ucfx_in *in, struct ucfx_out *out, const char **why)
{
	static struct table t;
	const uint8_t *magic = ucfx_take(in, 4);
	if (!magic || memcmp(magic, "UCFQ", 4) != 0 || ucfx_get32(in) != UCFX_VERSION) {
		*why = "not a request of this version";
		return -1;
	}
	uint32_t nseq = ucfx_get32(in);
	if (table(in, &t) != 0) {
		*why = "bad op table";
		return -1;
	}
	ucfx_put(out, "UCFR", 4);
	ucfx_u32(out, nseq);
	for (uint32_t s = 0; s < nseq; s++) {
		if (sequence(in, out, &t) != 0) {
			*why = "malformed sequence";
			return -1;
		}
	}
	if (out->oom) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}
