import Cases
import Layout

extension SimulatedKernel {
    /// Where the sources leave behaviour open, what this simulator does and why.
    /// Kept in code so reports can quote it next to `profile.behaviour`.
    package static let documentedChoices: [String: String] = [
        "tsm_op.second_bind":
            "A second BIND of an already bound vdevice returns 0 and changes nothing (the TDI keeps its state, "
            + "e.g. RUN stays RUN). Reason: seed 001 review says repeated bind()/unbind() calls are handled safely "
            + "by pci_tsm_bind/pci_tsm_unbind, and the v5 handler passes the tsm_bind() result through without its "
            + "own bound check.",
        "tsm_op.unbind_unbound":
            "UNBIND of a vdevice whose TDI is not bound returns 0. Reason: pci_tsm_unbind()/tsm_unbind() have no "
            + "error for an unbound TDI (tsm-uapi-history §5: VFIO unbind of an unbound device → 0; seed 001: "
            + "__vfio_pci_tsm_unbind returns early when not bound).",
        "tsm_op.bind_other_device_busy":
            "BIND through a vdevice while the same physical TDI is bound through another vdevice → EBUSY "
            + "(inferred).",
        "vfio_tsm.bind_unbind":
            "tsm-vfio-rfc: VFIO_DEVICE_TSM_BIND/UNBIND share the TSM_OP bind/unbind state: bind → CONFIG_LOCKED "
            + "with the BARs claimed, a second bind → 0 with no change and unbind of an unbound device → 0 (as "
            + "tsm_op.second_bind / tsm_op.unbind_unbound). Order: argsz < minsz or flags ≠ 0 → EINVAL; no "
            + "iommufd device → EINVAL; vdevice_id unknown, of another type or of another device → ENOENT "
            + "(iommufd lookup rule of tsm-uapi-history §5; inferred for bind); no KVM → ENODEV (as TSM_OP); pad "
            + "and bytes past minsz are never read (§14 \"Unchecked pad\").",
        "tdisp.auto_rebind":
            "MSE clear (config command write), VFIO_DEVICE_RESET (FLR), D3hot (LOW_POWER_ENTRY) and close unbind "
            + "first and never re-bind (seed 001: the guest must bind/attest/accept again).",
        "mmio.host_access_while_bound":
            "hostMMIOAccess on a BAR of a TSM-bound device → EINVAL (bind takes exclusive region ownership, "
            + "seed 000; Yilun's private-MMIO RFC returned EINVAL for mmap/rw of a private BAR).",
        "dmabuf.while_bound":
            "VFIO_DEVICE_FEATURE_DMA_BUF while the device is TSM-bound → EBUSY: the BARs are claimed "
            + "exclusively (seed 000) and 7.2 has no private dma-buf flag, so an export would give the host MMIO "
            + "access. State conflict → EBUSY per contract §5.7 (inferred).",
        "tsm.arch":
            "The simulated TSM is SEV (tvm_arch 2). post-v5: ops 6/7 need tvm_arch SEV; a valid arch other than "
            + "SEV reaching a bound TDI → EINVAL from the TSM driver (after the ENXIO bound check).",
        "tsm.response":
            "The TSM consumes up to 256 request bytes and produces a 32-byte response; byte i = (i*31 + scope/op "
            + "+ sum(request)) & 0xff. Return = resp_len - written when resp_uptr != 0, else req_len - consumed.",
        "tsm.state_change":
            "A forwarded STATE_CHANGE (v5 scope 1, v2 scope 1, post-v5 op SET_TDI_STATE 5) moves CONFIG_LOCKED "
            + "→ RUN; in RUN it is a no-op.",
        "kvm.source":
            "v5/post-v5: the KVM comes from the device node (vfio0 has one, vfio1 and selftest mock devices do "
            + "not) and is copied to a vIOMMU allocated on that device. tsm-v2: from IOMMU_VIOMMU_KVM_FD + "
            + "kvm_vm_fd naming an fd opened on /dev/kvm (else EBADF).",
        "iommu.driver":
            "All devices sit behind one simulated IOMMU driver modelled on the selftest mock: HW info type "
            + "SELFTEST, vIOMMU/veventq/hw-queue type SELFTEST, nested data IOMMU_HWPT_DATA_SELFTEST, invalidation "
            + "data SELFTEST (8-byte entries).",
        "map_file.fds":
            "IOMMU_IOAS_MAP_FILE: fds 0-2 and fds this simulator handed out are files of 1 GiB; dma-buf fds have "
            + "their export length; anything else → EBADF.",
        "iommufd.close":
            "Closing /dev/iommu destroys every object (unbinding TSM) at once; vfio files bound to it stay bound "
            + "but their device id is gone.",
        "destroy.device":
            "IOMMU_DESTROY of a device id → EBUSY (the binding driver holds it); destroying the selftest object "
            + "unbinds the mock device and tombstones its vdevice.",
        "iommufd.compat":
            "NR < 0x80 on /dev/iommu: only VFIO_GET_API_VERSION (100) → 0; everything else → ENOTTY.",
    ]
}
