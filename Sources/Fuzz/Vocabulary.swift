import Cases
import Layout

/// The profile's constants the generator uses; a missing one reads as 0
/// (the call then simply is not what it hoped to be).
package struct Constants: Sendable {
    let values: [String: Int64]
    subscript(_ name: String) -> UInt64 { values[name].map { UInt64(bitPattern: $0) } ?? 0 }
    func has(_ name: String) -> Bool { values[name] != nil }
}

/// The ioctls a fuzz run calls, with what each does.
package struct Vocabulary: Sendable {
    package let ops: [FuzzOp]
    package let roles: [OpRole]
    package let consts: Constants
    /// The vfio cdev is part of the runs: vfio ops are in `ops`.
    package let vfio: Bool
    /// IOMMU_HWPT_INVALIDATE, the table probe.
    let probe: Int?

    /// vfio ioctls the fuzzer drives (FEATURE exports dma-bufs whose
    /// descriptors it does not track: `Explained.notGenerated`).
    static let vfioOps: Set<String> = ["VFIO_DEVICE_BIND_IOMMUFD", "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
                                       "VFIO_DEVICE_DETACH_IOMMUFD_PT", "VFIO_DEVICE_GET_INFO",
                                       "VFIO_DEVICE_GET_REGION_INFO", "VFIO_DEVICE_TSM_BIND", "VFIO_DEVICE_TSM_UNBIND"]

    /// Every iommufd ioctl of `profile` but those the kernel lacks (`absent`)
    /// and, without a mock, the selftest command; the vfio ones with `vfio`.
    package init(profile: Profile, absent: Set<String> = [], mock: Bool = true, vfio: Bool = false) throws {
        var ops: [FuzzOp] = []
        for io in profile.ioctls.sorted(by: { ($0.family.rawValue, $0.nr) < ($1.family.rawValue, $1.nr) }) {
            guard !absent.contains(io.name), mock || io.testOnly != true else { continue }
            guard io.family == .iommufd || (vfio && Vocabulary.vfioOps.contains(io.name)) else { continue }
            ops.append(try FuzzOp(io, profile: profile))
        }
        guard !ops.isEmpty else { throw InputError("profile \(profile.name) leaves the fuzzer no ioctl to call") }
        self.ops = ops
        roles = ops.map(OpRole.resolve)
        consts = Constants(values: profile.enums)
        self.vfio = vfio && ops.contains { $0.family == .vfio }
        probe = ops.firstIndex { $0.name == "IOMMU_HWPT_INVALIDATE" }
    }

    package func index(of name: String) -> Int? { ops.firstIndex { $0.name == name } }
}
