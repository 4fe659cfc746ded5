/* Bounded child processes: each runs in its own process group with limits
 * on time, address space and output size, and the whole group is killed
 * when it runs out of time or when this process is told to stop (SIGINT,
 * SIGTERM, SIGHUP), so no compiler or emulator outlives the tool. */
#define _GNU_SOURCE
#include "CShims.h"
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UC_MAX_GROUPS 64

/* Process groups of running children; 0 = free slot. Read from the signal
 * handler, so only lock-free atomics. */
static _Atomic int uc_groups[UC_MAX_GROUPS];
static atomic_flag uc_handlers_set = ATOMIC_FLAG_INIT;

static void uc_kill_all(int sig)
{
	for (int i = 0; i < UC_MAX_GROUPS; i++) {
		int g = atomic_load(&uc_groups[i]);
		if (g > 0)
			kill(-g, sig);
	}
}

static int uc_any_alive(void)
{
	for (int i = 0; i < UC_MAX_GROUPS; i++) {
		int g = atomic_load(&uc_groups[i]);
		if (g > 0 && kill(-g, 0) == 0)
			return 1;
	}
	return 0;
}

/* TERM first, so a child script can take down what it started; KILL what
 * is still there after 5 s. Then die of the same signal. */
static void uc_on_signal(int sig)
{
	uc_kill_all(SIGTERM);
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	for (int i = 0; i < 100 && uc_any_alive(); i++)
		nanosleep(&tick, NULL);
	uc_kill_all(SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void uc_install_handlers(void)
{
	if (atomic_flag_test_and_set(&uc_handlers_set))
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = uc_on_signal;
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		/* Keep an ignored signal ignored (nohup, background jobs). */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static int uc_track(int pgid)
{
	for (int i = 0; i < UC_MAX_GROUPS; i++) {
		int expected = 0;
		if (atomic_compare_exchange_strong(&uc_groups[i], &expected, pgid))
			return i;
	}
	return -1;
}

static void uc_child(const char *const argv[], int in_fd, int out_fd, int err_fd, const uc_limits *lim)
{
	setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (lim->address_space > 0) {
		struct rlimit r = { (rlim_t)lim->address_space, (rlim_t)lim->address_space };
		setrlimit(RLIMIT_AS, &r);
	}
	if (in_fd >= 0) {
		dup2(in_fd, STDIN_FILENO);
	} else {
		int null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
	}
	if (out_fd >= 0)
		dup2(out_fd, STDOUT_FILENO);
	if (err_fd >= 0)
		dup2(err_fd, STDERR_FILENO);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

static double uc_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A captured stream: a pipe read into a buffer of at most cap bytes. */
struct uc_stream {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Reads what is there; 1 when the stream went past its cap. */
static int uc_drain(struct uc_stream *st)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(st->fd, chunk, sizeof(chunk));
		if (n == 0 || (n < 0 && errno != EINTR)) {
			if (n == 0 || errno != EAGAIN) {
				close(st->fd);
				st->fd = -1;
			}
			return 0;
		}
		if (n < 0)
			continue;
		size_t room = st->cap - st->len;
		if ((size_t)n > room) {
			memcpy(st->buf + st->len, chunk, room);
			st->len = st->cap;
			return 1;
		}
		memcpy(st->buf + st->len, chunk, (size_t)n);
		st->len += (size_t)n;
	}
}

static int uc_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	return 0;
}

uc_proc_result uc_run(const char *const argv[], int stdin_fd, int capture_out, int capture_err, const uc_limits *lim)
{
	uc_proc_result res;
	memset(&res, 0, sizeof(res));
	res.status = -1;
	size_t cap = lim->output_bytes > 0 ? (size_t)lim->output_bytes : (16u << 20);
	struct uc_stream st[2] = { { -1, NULL, 0, cap }, { -1, NULL, 0, cap } };
	int pipes[2][2] = { { -1, -1 }, { -1, -1 } };
	int want[2] = { capture_out, capture_err };
	for (int k = 0; k < 2; k++) {
		if (!want[k])
			continue;
		st[k].buf = malloc(cap);
		if (!st[k].buf || uc_pipe(pipes[k]) < 0) {
			res.error = errno ? errno : ENOMEM;
			goto fail;
		}
		st[k].fd = pipes[k][0];
	}
	uc_install_handlers();
	/* Block the stop signals across fork so the child is tracked before
	 * the handler can run. */
	sigset_t stop, old;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	pid_t pid = fork();
	if (pid == 0)
		uc_child(argv, stdin_fd, pipes[0][1], pipes[1][1], lim);
	if (pid < 0) {
		res.error = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto fail;
	}
	setpgid(pid, pid);  /* also here: no race with the child's own call */
	int slot = uc_track(pid);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int k = 0; k < 2; k++)
		if (pipes[k][1] >= 0)
			close(pipes[k][1]);

	double deadline = lim->timeout_s > 0 ? uc_now() + lim->timeout_s : 0;
	double kill_at = 0;
	int status = 0, exited = 0;
	while (!exited || st[0].fd >= 0 || st[1].fd >= 0) {
		struct pollfd pf[2];
		nfds_t n = 0;
		for (int k = 0; k < 2; k++)
			if (st[k].fd >= 0)
				pf[n++] = (struct pollfd){ st[k].fd, POLLIN, 0 };
		poll(pf, n, exited ? 0 : 20);
		for (int k = 0; k < 2; k++)
			if (st[k].fd >= 0 && uc_drain(&st[k]) && !res.output_capped) {
				res.output_capped = 1;
				kill(-pid, SIGKILL);
			}
		if (!exited) {
			pid_t r = waitpid(pid, &status, WNOHANG);
			if (r == pid || (r < 0 && errno != EINTR))
				exited = 1;
		} else {
			/* Exited, but something in its group may hold the pipes. */
			for (int k = 0; k < 2; k++)
				if (st[k].fd >= 0) {
					close(st[k].fd);
					st[k].fd = -1;
				}
		}
		double now = uc_now();
		if (deadline > 0 && now >= deadline && !res.timed_out && !exited) {
			res.timed_out = 1;
			kill(-pid, SIGTERM);
			kill_at = now + 5;
		}
		if (kill_at > 0 && now >= kill_at && !exited) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}
	}
	/* Whatever the child left running in its group goes too. */
	kill(-pid, SIGKILL);
	if (slot >= 0)
		atomic_store(&uc_groups[slot], 0);
	if (WIFEXITED(status)) {
		res.status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res.signal = WTERMSIG(status);
		res.status = 128 + res.signal;
	}
	res.out = st[0].buf;
	res.out_len = st[0].len;
	res.err = st[1].buf;
	res.err_len = st[1].len;
	return res;
fail:
	for (int k = 0; k < 2; k++) {
		free(st[k].buf);
		for (int e = 0; e < 2; e++)
			if (pipes[k][e] >= 0)
				close(pipes[k][e]);
	}
	return res;
}

void uc_proc_free(uc_proc_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int uc_memfd(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC);
}
