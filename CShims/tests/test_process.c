/*
 * Tests for the bounded child runner (uc_process.c), with real children:
 * exit status, captured output and its cap, the timeout, the address-space
 * limit, and that a timeout takes down the child's whole process group.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "CShims.h"

static uc_proc_result run_sh(const char *script, const uc_limits *lim)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	return uc_run(argv, -1, 1, 1, lim);
}

static void test_status_and_output(void **state)
{
	(void)state;
	uc_limits lim = { 10, 0, 0 };
	uc_proc_result r = run_sh("echo out; echo err >&2; exit 3", &lim);
	assert_int_equal(r.status, 3);
	assert_int_equal(r.timed_out, 0);
	assert_int_equal(r.out_len, 4);
	assert_memory_equal(r.out, "out\n", 4);
	assert_int_equal(r.err_len, 4);
	assert_memory_equal(r.err, "err\n", 4);
	uc_proc_free(&r);
}

static void test_missing_program(void **state)
{
	(void)state;
	uc_limits lim = { 10, 0, 0 };
	const char *argv[] = { "/nonexistent/program", NULL };
	uc_proc_result r = uc_run(argv, -1, 1, 1, &lim);
	assert_int_equal(r.status, 127);
	uc_proc_free(&r);
}

static void test_output_cap_kills(void **state)
{
	(void)state;
	uc_limits lim = { 20, 0, 4096 };
	uc_proc_result r = run_sh("yes flood", &lim);
	assert_int_equal(r.output_capped, 1);
	assert_int_equal(r.out_len, 4096);
	assert_int_equal(r.signal, SIGKILL);
	uc_proc_free(&r);
}

static void test_timeout_kills_the_group(void **state)
{
	(void)state;
	char marker[64];
	snprintf(marker, sizeof(marker), "/tmp/uc-test-group-%d", (int)getpid());
	unlink(marker);
	/* A grandchild that would write the marker after 1 s must die with the group. */
	char script[256];
	snprintf(script, sizeof(script), "(sleep 1; touch %s) & sleep 30", marker);
	uc_limits lim = { 0.2, 0, 0 };
	uc_proc_result r = run_sh(script, &lim);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.signal, SIGTERM);
	uc_proc_free(&r);
	sleep(2);
	assert_int_not_equal(access(marker, F_OK), 0);
}

static void test_address_space_limit(void **state)
{
	(void)state;
	/* 64 MiB is too little for a shell to allocate 256 MiB. */
	uc_limits lim = { 20, 64ll << 20, 0 };
	uc_proc_result r = run_sh("x=$(head -c 268435456 /dev/zero | tr '\\0' a); echo ${#x}", &lim);
	assert_int_not_equal(r.status, 0);
	uc_proc_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_and_output),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_output_cap_kills),
		cmocka_unit_test(test_timeout_kills_the_group),
		cmocka_unit_test(test_address_space_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
