import Cases
import Layout

/// Per-ioctl data resolved from the profile once, when the kernel is created. A class: the dispatcher
/// looks it up on every ioctl, and a copy of its handler's fields would retain each of their names.
final class IoctlSpec {
    let name: String
    let nr: Int
    let minSize: Int
    /// sizeof(struct) on LP64: what copy_struct_from_user copies at most.
    let size: Int
    let handler: Handler
    init(name: String, nr: Int, minSize: Int, size: Int, handler: Handler) {
        self.name = name; self.nr = nr; self.minSize = minSize; self.size = size; self.handler = handler
    }
}

/// The handler of one iommufd ioctl with the fields and constants it reads,
/// resolved against the profile (see `resolve`).
enum Handler {
    case destroy(DestroyFields), ioasAlloc(IoasAllocFields), allowIovas(IovaListFields), iovaRanges(IovaListFields)
    case ioasMap(MapFields), ioasUnmap(UnmapFields), ioasCopy(CopyFields), option(OptionFields)
    case vfioIoas(VfioIoasFields), changeProcess(ReservedOnly)
    case hwptAlloc(HwptAllocFields), hwInfo(HwInfoFields), setDirty(SetDirtyFields), getDirty(GetDirtyFields)
    case invalidate(InvalidateFields), faultAlloc(FaultAllocFields)
    case viommuAlloc(ViommuAllocFields), vdeviceAlloc(VdeviceAllocFields), veventqAlloc(VeventqAllocFields)
    case hwQueueAlloc(HwQueueAllocFields), testCmd(TestCmdFields)
    case tsmOp(TsmOpFields), tsmReq(TsmReqFields)
    /// An ioctl of the profile the simulator has no handler for.
    case unknown

    /// The handler for `io` with everything it reads resolved; a field or
    /// constant the profile lacks is an `InputError` here, at load.
    static func resolve(_ io: ProfileIoctl, profile: Profile) throws -> Handler {
        let r = try FieldResolver(ioctl: io.name, structName: io.struct, profile: profile)
        switch io.name {
        case "IOMMU_DESTROY": return .destroy(try .init(r))
        case "IOMMU_IOAS_ALLOC": return .ioasAlloc(try .init(r))
        case "IOMMU_IOAS_ALLOW_IOVAS": return .allowIovas(try .init(r))
        case "IOMMU_IOAS_IOVA_RANGES": return .iovaRanges(try .init(r, alignment: true))
        case "IOMMU_IOAS_MAP": return .ioasMap(try .init(r, file: false))
        case "IOMMU_IOAS_MAP_FILE": return .ioasMap(try .init(r, file: true))
        case "IOMMU_IOAS_UNMAP": return .ioasUnmap(try .init(r))
        case "IOMMU_IOAS_COPY": return .ioasCopy(try .init(r))
        case "IOMMU_OPTION": return .option(try .init(r))
        case "IOMMU_VFIO_IOAS": return .vfioIoas(try .init(r))
        case "IOMMU_IOAS_CHANGE_PROCESS": return .changeProcess(try .init(r))
        case "IOMMU_HWPT_ALLOC": return .hwptAlloc(try .init(r))
        case "IOMMU_GET_HW_INFO": return .hwInfo(try .init(r))
        case "IOMMU_HWPT_SET_DIRTY_TRACKING": return .setDirty(try .init(r))
        case "IOMMU_HWPT_GET_DIRTY_BITMAP": return .getDirty(try .init(r))
        case "IOMMU_HWPT_INVALIDATE": return .invalidate(try .init(r))
        case "IOMMU_FAULT_QUEUE_ALLOC": return .faultAlloc(try .init(r))
        case "IOMMU_VIOMMU_ALLOC": return .viommuAlloc(try .init(r))
        case "IOMMU_VDEVICE_ALLOC": return .vdeviceAlloc(try .init(r))
        case "IOMMU_VEVENTQ_ALLOC": return .veventqAlloc(try .init(r))
        case "IOMMU_HW_QUEUE_ALLOC": return .hwQueueAlloc(try .init(r))
        case "IOMMU_TEST_CMD": return .testCmd(try .init(r))
        case "IOMMU_VDEVICE_TSM_OP": return .tsmOp(try .init(r))
        case "IOMMU_VDEVICE_TSM_REQ": return .tsmReq(try .resolve(r))
        case "IOMMU_VDEVICE_TSM_GUEST_REQUEST": return .tsmReq(.v2(try .init(r)))
        default: return .unknown
        }
    }
}

/// A struct whose only checked field is `__reserved` (IOAS_CHANGE_PROCESS).
struct ReservedOnly {
    let reserved: FieldHandle
    init(_ r: FieldResolver) throws { reserved = try r("__reserved") }
}

extension SimulatedKernel {
    var skipFlags: Bool { mutations.contains(.skipFlagsChecks) }
    var skipReserved: Bool { mutations.contains(.skipReservedChecks) }

    // MARK: Generic dispatch (contract §2, in order)

    func iommufdIoctl(_ ctx: IommufdContext, _ request: UInt64, _ arg: inout [UInt8]?,
                      _ mem: UserMemory) -> SyscallResult {
        let nr = Int(request & iocNrMask)
        // 1. Outside the table: VFIO compat handler; the argument is never read.
        if nr < iommufd.cmdBase || nr > tableEnd {
            if request == iommufd.getApiVersion { return .ok(0) }
            if request & ~iocNrMask == vfio.type << 8, let spec = vfio.table[nr],
               let r = compatIoctl(ctx, spec, &arg, mem) {
                return r
            }
            return .fail(.ENOTTY)
        }
        // 2. Read the size word: every iommufd struct starts with `__u32 size`.
        guard let user = arg, user.count >= 4 else { return .fail(.EFAULT) }
        let size = Int(StructCodec.load(user, 0, 4))
        // 3. Exact command match.
        guard let spec = table[nr], request == iommufd.request(nr) else { return .fail(.ENOTTY) }
        // 4. Minimum size.
        if size < spec.minSize && !mutations.contains(.skipMinSizeCheck) { return .fail(.EINVAL) }
        // 5. copy_struct_from_user.
        let sz = spec.size
        if size > user.count { return .fail(.EFAULT) }
        if size > sz && !mutations.contains(.skipTailCheck) {
            var i = sz
            while i < size { if user[i] != 0 { return .fail(.E2BIG) }; i += 1 }
        }
        let n = min(size, sz)
        // The kernel copy: user bytes, zero-extended to sizeof, in the reused scratch buffer.
        var k = scratch
        scratch = []
        k.removeAll(keepingCapacity: true)
        k.append(contentsOf: user[0..<n])
        if sz > n { k.append(contentsOf: repeatElement(0, count: sz - n)) }
        var cmd = Cmd(k: k, userSize: size)
        // 6. Handler.
        let r = run(spec.handler, ctx, &cmd, mem)
        // 7. Response, limited to min(size, sizeof).
        switch r.respond {
        case .none: break
        case .full:
            copyOut(&arg, cmd.k, 0, n)
        case .fields(let fields):
            for f in fields where f.end <= n { copyOut(&arg, cmd.k, f.offset, f.end) }
        }
        scratch = cmd.k
        return r.errno.map { .fail($0) } ?? .ok(r.value)
    }

    /// arg[from..<to] = k[from..<to], element-wise (no slice temporaries).
    private func copyOut(_ arg: inout [UInt8]?, _ k: [UInt8], _ from: Int, _ to: Int) {
        guard var a = arg else { return }
        arg = nil  // keep `a` uniquely referenced while writing
        for i in from..<to { a[i] = k[i] }
        arg = a
    }

    func run(_ h: Handler, _ ctx: IommufdContext, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        switch h {
        case .destroy(let f): return destroy(f, ctx, &c)
        case .ioasAlloc(let f): return ioasAlloc(f, ctx, &c)
        case .allowIovas(let f): return allowIovas(f, ctx, &c, mem)
        case .iovaRanges(let f): return iovaRanges(f, ctx, &c, mem)
        case .ioasMap(let f): return ioasMap(f, ctx, &c, mem)
        case .ioasUnmap(let f): return ioasUnmap(f, ctx, &c)
        case .ioasCopy(let f): return ioasCopy(f, ctx, &c)
        case .option(let f): return option(f, ctx, &c)
        case .vfioIoas(let f): return vfioIoas(f, ctx, &c)
        case .changeProcess(let f): return changeProcess(f, ctx, &c)
        case .hwptAlloc(let f): return hwptAlloc(f, ctx, &c, mem)
        case .hwInfo(let f): return hwInfo(f, ctx, &c, mem)
        case .setDirty(let f): return setDirty(f, ctx, &c)
        case .getDirty(let f): return getDirty(f, ctx, &c, mem)
        case .invalidate(let f): return invalidate(f, ctx, &c, mem)
        case .faultAlloc(let f): return faultAlloc(f, ctx, &c)
        case .viommuAlloc(let f): return viommuAlloc(f, ctx, &c, mem)
        case .vdeviceAlloc(let f): return vdeviceAlloc(f, ctx, &c)
        case .veventqAlloc(let f): return veventqAlloc(f, ctx, &c)
        case .hwQueueAlloc(let f): return hwQueueAlloc(f, ctx, &c)
        case .testCmd(let f): return testCmd(f, ctx, &c, mem)
        case .tsmOp(let f): return tsmOp(f, ctx, &c)
        case .tsmReq(let f): return tsmReq(f, ctx, &c, mem)
        case .unknown: return .fail(.EOPNOTSUPP)
        }
    }
}

/// _IOC_NRMASK: iommufd and vfio requests are `_IO(type, nr)`, so the rest is the type.
let iocNrMask: UInt64 = 0xff

/// The iommufd numbering facts the dispatcher uses, from the profile.
struct IommufdNumbers {
    /// `_IOC_TYPE` of every iommufd request (';').
    let type: UInt64
    /// IOMMUFD_CMD_BASE: NRs below it go to the VFIO compat handler.
    let cmdBase: Int
    /// VFIO_GET_API_VERSION, the one compat request answered (0).
    let getApiVersion: UInt64

    init(_ profile: Profile) throws {
        let user = "iommufd dispatch"
        type = try FieldResolver.constant("IOMMUFD_TYPE", in: profile, for: user)
        cmdBase = Int(try FieldResolver.constant("IOMMUFD_CMD_BASE", in: profile, for: user))
        getApiVersion = try FieldResolver.constant("VFIO_GET_API_VERSION", in: profile, for: user)
    }

    /// `_IO(IOMMUFD_TYPE, nr)`.
    func request(_ nr: Int) -> UInt64 { type << 8 | UInt64(nr) }
}
