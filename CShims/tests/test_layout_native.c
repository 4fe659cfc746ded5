/*
 * Native layout cross-check: compile against the fetched 7.2 uapi headers
 * (the Makefile puts $(HEADERS) and its multiarch asm dir first on the
 * include path) and compare what the C compiler sees with the numbers the
 * kernel contract promises. The Swift side derives its layouts with its
 * own probe; this is an independent witness in plain C.
 *
 * Expected values are literals on purpose: deriving them from the header
 * macros would only test the header against itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

struct ioctl_fact {
	const char *name;
	unsigned long request, want_request;
	size_t size, want_size;
};

#define IOCTL(req, type, want_req, want_sz) \
	{ #req, (unsigned long)(req), want_req, sizeof(type), want_sz }

static const struct ioctl_fact iommufd_ioctls[] = {
	IOCTL(IOMMU_DESTROY, struct iommu_destroy, 0x3B80, 8),
	IOCTL(IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, 0x3B81, 12),
	IOCTL(IOMMU_IOAS_ALLOW_IOVAS, struct iommu_ioas_allow_iovas, 0x3B82, 24),
	IOCTL(IOMMU_IOAS_COPY, struct iommu_ioas_copy, 0x3B83, 40),
	IOCTL(IOMMU_IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges, 0x3B84, 32),
	IOCTL(IOMMU_IOAS_MAP, struct iommu_ioas_map, 0x3B85, 40),
	IOCTL(IOMMU_IOAS_UNMAP, struct iommu_ioas_unmap, 0x3B86, 24),
	IOCTL(IOMMU_OPTION, struct iommu_option, 0x3B87, 24),
	IOCTL(IOMMU_VFIO_IOAS, struct iommu_vfio_ioas, 0x3B88, 12),
	IOCTL(IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc, 0x3B89, 48),
	IOCTL(IOMMU_GET_HW_INFO, struct iommu_hw_info, 0x3B8a, 40),
	IOCTL(IOMMU_HWPT_SET_DIRTY_TRACKING,
	      struct iommu_hwpt_set_dirty_tracking, 0x3B8b, 16),
	IOCTL(IOMMU_HWPT_GET_DIRTY_BITMAP,
	      struct iommu_hwpt_get_dirty_bitmap, 0x3B8c, 48),
	IOCTL(IOMMU_HWPT_INVALIDATE, struct iommu_hwpt_invalidate, 0x3B8d, 32),
	IOCTL(IOMMU_FAULT_QUEUE_ALLOC, struct iommu_fault_alloc, 0x3B8e, 16),
	IOCTL(IOMMU_IOAS_MAP_FILE, struct iommu_ioas_map_file, 0x3B8f, 40),
	IOCTL(IOMMU_VIOMMU_ALLOC, struct iommu_viommu_alloc, 0x3B90, 40),
	IOCTL(IOMMU_VDEVICE_ALLOC, struct iommu_vdevice_alloc, 0x3B91, 24),
	IOCTL(IOMMU_IOAS_CHANGE_PROCESS,
	      struct iommu_ioas_change_process, 0x3B92, 8),
	IOCTL(IOMMU_VEVENTQ_ALLOC, struct iommu_veventq_alloc, 0x3B93, 32),
	IOCTL(IOMMU_HW_QUEUE_ALLOC, struct iommu_hw_queue_alloc, 0x3B94, 40),
};

static const struct ioctl_fact vfio_ioctls[] = {
	IOCTL(VFIO_DEVICE_FEATURE, struct vfio_device_feature, 0x3B75, 8),
	IOCTL(VFIO_DEVICE_BIND_IOMMUFD, struct vfio_device_bind_iommufd,
	      0x3B76, 24),
	IOCTL(VFIO_DEVICE_ATTACH_IOMMUFD_PT,
	      struct vfio_device_attach_iommufd_pt, 0x3B77, 16),
	IOCTL(VFIO_DEVICE_DETACH_IOMMUFD_PT,
	      struct vfio_device_detach_iommufd_pt, 0x3B78, 12),
};

/* A size or offset fact that is not tied to one ioctl. */
struct num_fact {
	const char *name;
	unsigned long got, want;
};

#define NUM(expr, want) { #expr, (unsigned long)(expr), want }

/*
 * Extensible structs: the kernel accepts any size >= the end of the last
 * member of the first version, so that offset is part of the ABI too.
 */
static const struct num_fact min_sizes[] = {
	NUM(offsetofend(struct iommu_hwpt_alloc, __reserved), 24),
	NUM(offsetofend(struct iommu_hw_info, __reserved), 32),
	NUM(offsetofend(struct iommu_viommu_alloc, out_viommu_id), 24),
	NUM(offsetofend(struct iommu_veventq_alloc, out_veventq_fd), 28),
};

static const struct num_fact vfio_facts[] = {
	NUM(sizeof(struct vfio_region_info), 32),
	NUM(sizeof(struct vfio_device_feature_dma_buf), 16),
	NUM(offsetof(struct vfio_device_feature_dma_buf, dma_ranges), 16),
	NUM(VFIO_DEVICE_FEATURE_DMA_BUF, 11),
};

/* Check every row, report each mismatch, then fail once with a count. */
static void check_ioctls(const struct ioctl_fact *t, size_t n)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].request != t[i].want_request) {
			print_error("%s: request 0x%lX, want 0x%lX\n",
				    t[i].name, t[i].request, t[i].want_request);
			bad++;
		}
		if (t[i].size != t[i].want_size) {
			print_error("%s: sizeof %zu, want %zu\n",
				    t[i].name, t[i].size, t[i].want_size);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void check_nums(const struct num_fact *t, size_t n)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].got != t[i].want) {
			print_error("%s = %lu, want %lu\n",
				    t[i].name, t[i].got, t[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_iommufd_ioctls(void **state)
{
	size_t i;

	(void)state;
	/* 21 commands, numbered without gaps from IOMMUFD_CMD_BASE. */
	assert_int_equal(ARRAY_SIZE(iommufd_ioctls), 21);
	for (i = 0; i < ARRAY_SIZE(iommufd_ioctls); i++)
		assert_int_equal(iommufd_ioctls[i].want_request, 0x3B80 + i);
	check_ioctls(iommufd_ioctls, ARRAY_SIZE(iommufd_ioctls));
}

static void test_iommufd_min_sizes(void **state)
{
	(void)state;
	check_nums(min_sizes, ARRAY_SIZE(min_sizes));
}

static void test_vfio_ioctls(void **state)
{
	(void)state;
	check_ioctls(vfio_ioctls, ARRAY_SIZE(vfio_ioctls));
}

static void test_vfio_facts(void **state)
{
	(void)state;
	check_nums(vfio_facts, ARRAY_SIZE(vfio_facts));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iommufd_ioctls),
		cmocka_unit_test(test_iommufd_min_sizes),
		cmocka_unit_test(test_vfio_ioctls),
		cmocka_unit_test(test_vfio_facts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
