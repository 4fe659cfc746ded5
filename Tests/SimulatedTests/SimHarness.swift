import Cases
import Layout
@testable import SimulatedBackend

/// Profiles from fixtures/profiles at the package root, found from this file.
enum Fixtures {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/SimulatedTests/SimHarness.swift
        return parts.joined(separator: "/")
    }()
    static let store: ProfileStore = try! ProfileStore(directory: root + "/fixtures/profiles")
    static func profile(_ name: String) -> Profile { try! store.resolved(name) }
}

/// A simulated kernel plus encode/decode helpers for byte-level tests.
final class Sim {
    let k: SimulatedKernel
    let p: Profile
    let mem = UserMemory()

    init(_ profile: String = "tsm-v5", _ mutations: Set<SimMutation> = []) {
        p = Fixtures.profile(profile)
        k = try! SimulatedKernel(profile: p, mutations: mutations)
    }

    func codec(_ ioctl: String) -> StructCodec {
        StructCodec(profile: p, structName: p.ioctl(ioctl)!.struct)!
    }
    func req(_ ioctl: String) -> UInt64 { UInt64(0x3B00 | p.ioctl(ioctl)!.nr) }

    /// Encode `fields` (size defaults to sizeof), call, decode the written-back bytes.
    @discardableResult
    func call(_ fd: Int32, _ ioctl: String, _ fields: [String: UInt64] = [:], size: Int? = nil,
              count: Int? = nil) -> (r: SyscallResult, out: [String: UInt64], bytes: [UInt8]) {
        let c = codec(ioctl)
        var f = fields
        let sz = size ?? c.size
        if f["size"] == nil && c.has("size") { f["size"] = UInt64(sz) }
        if f["argsz"] == nil && c.has("argsz") { f["argsz"] = UInt64(sz) }
        var arg: [UInt8]? = c.encode(f, count: count ?? max(sz, c.size))
        let r = k.ioctl(fd, req(ioctl), &arg, memory: mem)
        return (r, c.decode(arg!), arg!)
    }

    func raw(_ fd: Int32, _ request: UInt64, _ bytes: [UInt8]?) -> (SyscallResult, [UInt8]?) {
        var arg = bytes
        let r = k.ioctl(fd, request, &arg, memory: mem)
        return (r, arg)
    }

    func open(_ path: String) -> Int32 {
        let r = k.open(path)
        precondition(!r.failed, "open \(path): \(r)")
        return Int32(r.value)
    }

    func ioas(_ fd: Int32) -> UInt32 {
        let r = call(fd, "IOMMU_IOAS_ALLOC")
        precondition(!r.r.failed)
        return UInt32(r.out["out_ioas_id"]!)
    }

    /// IOMMU_TEST_OP_MOCK_DOMAIN on `pt`.
    func mock(_ fd: Int32, _ pt: UInt32) -> (stdev: UInt32, hwpt: UInt32, idev: UInt32) {
        let r = call(fd, "IOMMU_TEST_CMD", ["op": 2, "id": UInt64(pt)])
        precondition(!r.r.failed, "mock: \(r.r)")
        return (UInt32(r.out["out_stdev_id"]!), UInt32(r.out["out_hwpt_id"]!), UInt32(r.out["out_idev_id"]!))
    }

    /// Open a vfio node and bind it to iommufd `ifd`; returns (fd, dev id).
    func vfio(_ path: String, _ ifd: Int32) -> (fd: Int32, dev: UInt32) {
        let vfd = open(path)
        let r = call(vfd, "VFIO_DEVICE_BIND_IOMMUFD", ["iommufd": UInt64(ifd)])
        precondition(!r.r.failed, "bind: \(r.r)")
        return (vfd, UInt32(r.out["out_devid"]!))
    }

    func nestParent(_ fd: Int32, dev: UInt32, ioas: UInt32) -> UInt32 {
        let r = call(fd, "IOMMU_HWPT_ALLOC", ["flags": 1, "dev_id": UInt64(dev), "pt_id": UInt64(ioas)])
        precondition(!r.r.failed, "hwpt: \(r.r)")
        return UInt32(r.out["out_hwpt_id"]!)
    }

    func viommu(_ fd: Int32, dev: UInt32, hwpt: UInt32) -> UInt32 {
        var f: [String: UInt64] = ["type": 0xdeadbeef, "dev_id": UInt64(dev), "hwpt_id": UInt64(hwpt)]
        if codec("IOMMU_VIOMMU_ALLOC").has("kvm_vm_fd") {
            f["flags"] = 1
            f["kvm_vm_fd"] = UInt64(open("/dev/kvm"))
        }
        let r = call(fd, "IOMMU_VIOMMU_ALLOC", f)
        precondition(!r.r.failed, "viommu: \(r.r)")
        return UInt32(r.out["out_viommu_id"]!)
    }

    func vdevice(_ fd: Int32, viommu: UInt32, dev: UInt32, virt: UInt64 = 0x99) -> UInt32 {
        let r = call(fd, "IOMMU_VDEVICE_ALLOC", ["viommu_id": UInt64(viommu), "dev_id": UInt64(dev), "virt_id": virt])
        precondition(!r.r.failed, "vdevice: \(r.r)")
        return UInt32(r.out["out_vdevice_id"]!)
    }

    struct Stack { let ifd: Int32; let vfd: Int32; let dev: UInt32; let ioas: UInt32; let viommu: UInt32; let vdev: UInt32 }

    /// The VMM setup for TSM on a vfio node: iommufd, IOAS, bind, attach, nest
    /// parent, vIOMMU, vDEVICE.
    func stack(_ path: String = "/dev/vfio/devices/vfio0") -> Stack {
        let ifd = open("/dev/iommu")
        let ioas = self.ioas(ifd)
        let (vfd, dev) = vfio(path, ifd)
        precondition(!call(vfd, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", ["pt_id": UInt64(ioas)]).r.failed)
        let parent = nestParent(ifd, dev: dev, ioas: ioas)
        let vi = viommu(ifd, dev: dev, hwpt: parent)
        let vd = vdevice(ifd, viommu: vi, dev: dev)
        return Stack(ifd: ifd, vfd: vfd, dev: dev, ioas: ioas, viommu: vi, vdev: vd)
    }

    /// The same on the selftest mock (non-PCI, no KVM).
    func mockStack() -> Stack {
        let ifd = open("/dev/iommu")
        let ioas = self.ioas(ifd)
        let m = mock(ifd, ioas)
        let parent = nestParent(ifd, dev: m.idev, ioas: ioas)
        let vi = viommu(ifd, dev: m.idev, hwpt: parent)
        let vd = vdevice(ifd, viommu: vi, dev: m.idev)
        return Stack(ifd: ifd, vfd: -1, dev: m.idev, ioas: ioas, viommu: vi, vdev: vd)
    }

    var opField: String { codec("IOMMU_VDEVICE_TSM_OP").has("op") ? "op" : "type" }

    @discardableResult
    func tsmOp(_ s: Stack, _ type: UInt64, flags: UInt64 = 0, vdev: UInt32? = nil) -> SyscallResult {
        call(s.ifd, "IOMMU_VDEVICE_TSM_OP", [opField: type, "flags": flags, "vdevice_id": UInt64(vdev ?? s.vdev)]).r
    }

    /// v5 TSM_REQ with a 16-byte request and a 64-byte response buffer.
    func tsmReq(_ s: Stack, scope: UInt64 = 0, reserved: UInt64 = 0, vdev: UInt32? = nil,
                extra: [String: UInt64] = [:]) -> (r: SyscallResult, out: [String: UInt64], bytes: [UInt8]) {
        let reqp = mem.allocate([UInt8](repeating: 7, count: 16))
        let respp = mem.allocate([UInt8](repeating: 0, count: 64))
        var f: [String: UInt64] = ["vdevice_id": UInt64(vdev ?? s.vdev), "scope": scope, "__reserved": reserved,
                                   "req_len": 16, "resp_len": 64, "req_uptr": reqp, "resp_uptr": respp]
        f.merge(extra) { _, n in n }
        let name = p.ioctl("IOMMU_VDEVICE_TSM_REQ") != nil ? "IOMMU_VDEVICE_TSM_REQ" : "IOMMU_VDEVICE_TSM_GUEST_REQUEST"
        // One helper for every flavour: scope and __reserved only where the layout has them.
        let c = codec(name)
        return call(s.ifd, name, f.filter { c.has($0.key) })
    }
}
