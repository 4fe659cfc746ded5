import Cases
import Layout

/// A kernel variant with one rule removed. Mutation tests run the catalogue
/// against each and expect at least one case to fail, proving the cases bite.
package enum SimMutation: String, CaseIterable, Sendable {
    /// Non-zero bytes past sizeof are accepted instead of E2BIG.
    case skipTailCheck
    /// size < min_size is accepted (zero-extended) instead of EINVAL.
    case skipMinSizeCheck
    /// Every named must-be-zero (`__reserved`) EOPNOTSUPP check is off.
    case skipReservedChecks
    /// Unknown flag bits are accepted (iommufd EOPNOTSUPP and VFIO EINVAL checks).
    case skipFlagsChecks
    /// TSM_REQ ignores a non-zero `__reserved`.
    case tsmReqSkipReserved
    /// TSM_REQ accepts scope > 3 (post-v5: tvm_arch/op ranges) and goes on.
    case tsmReqSkipScopeRange
    /// TSM_REQ treats an unknown vdevice id as an existing, unbound PCI vdevice (ENXIO).
    case tsmReqSkipVdeviceLookup
    /// TSM_REQ forwards requests for non-PCI devices instead of EINVAL.
    case tsmReqSkipPciCheck
    /// TSM_REQ forwards DEBUG_READ/DEBUG_WRITE instead of EINVAL.
    case tsmReqAllowDebugScopes
    /// TSM_REQ forwards to the TSM although the TDI is not bound (no ENXIO).
    case tsmReqSkipBoundCheck
    /// TSM_OP ignores a non-zero `flags`.
    case tsmOpSkipFlagsCheck
    /// TSM_OP proceeds without a KVM association (no ENODEV).
    case tsmOpSkipKvmCheck
    /// TSM_OP accepts an unknown type/op as a no-op success.
    case tsmOpSkipTypeCheck
    /// IOMMU_DESTROY removes an object other objects still use (no EBUSY).
    case destroyIgnoresUsers
}
