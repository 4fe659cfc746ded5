import Cases

/// Every known difference between the simulator and a kernel the fuzzer
/// does not count as a disagreement, or does not provoke, each with its
/// reason. The oracle and the generator name these cases where they apply;
/// nothing else is left out of the comparison.
package enum Explained: String, CaseIterable, Sendable {
    /// `out_*_fd` fields: each backend hands out its own descriptor numbers.
    case descriptorNumbers = "descriptor-numbers"
    /// Fields each backend fills in itself (its iommufd, a user buffer's address) differ as sent; they
    /// are compared by whether the call left them as sent.
    case perSideValues = "per-side-values"
    /// The selftest command's `op` is drawn from the profile's IOMMU_TEST_OP_* or values no kernel
    /// defines: a test op the profile does not list with its union member (6.12's checks, dirty bits,
    /// PASID and dma-buf ops) is not generated.
    case undescribedTestOps = "undescribed-test-ops"
    /// IOMMU_TEST_OP_DMABUF_GET is not generated: it answers a dma-buf descriptor as its return value,
    /// which the sequences do not track (`untrackedOps`), as for VFIO_DEVICE_FEATURE.
    case dmabufTestOp = "dmabuf-test-op"
    /// VFIO_DEVICE_FEATURE is not generated: the dma-buf descriptors it exports are not tracked.
    case vfioFeature = "vfio-feature"
    /// Only vfio0 is opened: the no-KVM device vfio1 (TSM_OP's ENODEV) is the catalogue's.
    case secondDevice = "second-device"
    /// The object table is read through IOMMU_HWPT_INVALIDATE with no entries: per id ENOENT (no such
    /// object), EINVAL (an object that is neither a nested HWPT nor a vIOMMU) or success. Kinds
    /// beyond these three classes are compared only through the calls that use them.
    case tableClasses = "table-classes"
    /// A HW queue of more than one page needs physically contiguous pages (iommufd_hw_queue_alloc_phys).
    /// The simulator takes user memory as never contiguous (EFAULT); a kernel that found the pages
    /// contiguous by chance answers OK, and that sequence is not judged past the call.
    case physicalContiguity = "physical-contiguity"
    /// A HW queue's page array between the simulator's kvzalloc limit (512 MiB: the lane's 1 GiB guest) and
    /// INT_MAX: whether the kernel can allocate it depends on its free memory. The simulator says ENOMEM; a
    /// kernel that answered otherwise is not judged past the call.
    case guestMemory = "guest-memory"
    /// IOMMU_IOAS_MAP_FILE is not given a descriptor that holds the iommufd. The kernel keeps a mapped
    /// file for as long as the mapping, so the context would hold itself: closing the iommufd then never
    /// releases it, and every object it holds (selftest mock devices, domains) leaks for good. A kernel
    /// bug, found by this fuzzer on 7.2 (fixtures/kernel/findings/7.2-map-file-self-cycle.json).
    case fileCycle = "file-cycle"

    /// Whether a call's different outcomes are this difference: the sequence's verdict stops there.
    package static func endsJudging(_ op: FuzzOp, _ a: SyscallResult, _ b: SyscallResult) -> Bool {
        guard op.name == "IOMMU_HW_QUEUE_ALLOC", a.failed else { return false }
        if a.errno == .EFAULT { return !b.failed }  // physicalContiguity
        return a.errno == .ENOMEM && !(b.failed && b.errno == .ENOMEM)  // guestMemory
    }

    /// The selftest ops `dmabufTestOp` keeps out of the calls.
    static let untrackedOps: Set<String> = ["IOMMU_TEST_OP_DMABUF_GET"]

    package var reason: String {
        switch self {
        case .descriptorNumbers: return "descriptor numbers differ between processes; success is compared"
        case .perSideValues: return "descriptors and user addresses are each side's own; compared as left or changed"
        case .undescribedTestOps: return "kernel selftest ops the profile does not describe are not generated"
        case .dmabufTestOp: return "IOMMU_TEST_OP_DMABUF_GET is not generated (its dma-buf fd is not tracked)"
        case .vfioFeature: return "VFIO_DEVICE_FEATURE is not generated (exported dma-buf fds are not tracked)"
        case .secondDevice: return "only vfio0 is fuzzed; vfio1 (no KVM) is left to the catalogue"
        case .tableClasses: return "the object table is compared as ENOENT / EINVAL / OK under HWPT_INVALIDATE"
        case .physicalContiguity: return "a HW queue over several pages needs physically contiguous memory, which "
            + "user memory is only by chance; the simulator says EFAULT"
        case .guestMemory: return "a HW queue page array past 512 MiB is ENOMEM in the lane's 1 GiB guest; "
            + "a kernel with more memory may allocate it, and that sequence is not judged past the call"
        case .fileCycle: return "MAP_FILE of a descriptor holding the iommufd is not generated: the context "
            + "would hold itself and leak when closed (a 7.2 kernel bug)"
        }
    }
}
