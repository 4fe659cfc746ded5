import CShims
import Cases
import Foundation
import Layout

/// Whether the selftest mock can bind a device, not only whether it exists:
/// Linux 6.12 probes the mock's device with the ops of the first IOMMU driver
/// registered without a firmware node, so with a vIOMMU (intel-iommu) in the
/// guest MOCK_DOMAIN fails (EINVAL: the device has no IOMMU) and every case on
/// the mock would fail for a reason that is the boot's, not the uAPI's.
extension KernelProbe {
    /// The reason cases on the mock skip when it exists but cannot bind.
    package static func mockUnusable(_ e: Errno) -> String {
        "the selftest mock cannot bind a device on this boot (IOMMU_TEST_CMD MOCK_DOMAIN: \(e.name)); "
            + "Linux 6.12 probes it with the first IOMMU driver registered: boot with intel_iommu=off"
    }

    /// One IOAS and one MOCK_DOMAIN device on a descriptor of their own, which
    /// closing destroys: nil when the bind works, else its errno. Layouts and
    /// numbers come from the first profile that has them all.
    static func mockBindError(profiles: [Profile]) -> Errno? {
        let has = { (p: Profile) in p.ioctl("IOMMU_TEST_CMD") != nil && p.ioctl("IOMMU_IOAS_ALLOC") != nil }
        guard let p = profiles.first(where: has),
              let allocIo = p.ioctl("IOMMU_IOAS_ALLOC"), let testIo = p.ioctl("IOMMU_TEST_CMD"),
              let alloc = p.structure(allocIo.struct)?.lp64, let test = p.structure(testIo.struct)?.lp64,
              let outId = alloc.fields.first(where: { $0.name == "out_ioas_id" }),
              let op = test.fields.first(where: { $0.name == "op" }),
              let id = test.fields.first(where: { $0.name == "id" }),
              let mockDomain = p.enums["IOMMU_TEST_OP_MOCK_DOMAIN"]
        else { return nil }
        let o = uc_open("/dev/iommu", O_RDWR)
        guard o.ret >= 0 else { return Errno(rawValue: o.err) }
        let fd = Int32(o.ret)
        defer { _ = uc_close(fd) }
        var a = [UInt8](repeating: 0, count: alloc.size)
        CompiledCall.store(UInt64(alloc.size), into: &a, at: 0, width: 4)
        if let e = call(fd, ioRequest(type: allocIo.type, nr: allocIo.nr), &a) { return e }
        var t = [UInt8](repeating: 0, count: test.size)
        CompiledCall.store(UInt64(test.size), into: &t, at: 0, width: 4)
        CompiledCall.store(UInt64(mockDomain), into: &t, at: op.offset, width: op.size)
        let ioasId = CompiledCall.load(a, at: outId.offset, width: outId.size)
        CompiledCall.store(ioasId, into: &t, at: id.offset, width: id.size)
        return call(fd, ioRequest(type: testIo.type, nr: testIo.nr), &t)
    }

    static func call(_ fd: Int32, _ request: UInt64, _ arg: inout [UInt8]) -> Errno? {
        let r = arg.withUnsafeMutableBytes { uc_ioctl(fd, UInt(request), $0.baseAddress) }
        return r.ret < 0 ? Errno(rawValue: r.err) : nil
    }
}
