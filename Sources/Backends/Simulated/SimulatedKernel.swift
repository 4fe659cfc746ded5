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

/// TDISP interface state of the simulated TDI behind a PCI device.
package enum TdispState: String, Sendable {
    case configUnlocked = "CONFIG_UNLOCKED"
    case configLocked = "CONFIG_LOCKED"
    case run = "RUN"
    case error = "ERROR"
}

/// One physical simulated PCI function with a TSM behind it. Shared by every
/// open of its node, as a real device is.
final class SimPciDevice {
    let path: String
    /// KVM_DEV_VFIO_FILE_ADD done by the VMM (vfio0) or not (vfio1).
    let hasKVM: Bool
    var tdi: TdispState = .configUnlocked
    /// The vdevice object the TDI is bound through; nil when unbound.
    weak var boundVdevice: SimObject?
    /// PCI_COMMAND_MEMORY.
    var memoryEnabled = true
    var d3hot = false
    /// How many times the TSM bound this TDI (tests check "no automatic re-bind").
    var bindCount = 0
    /// Open vfio file, if any (one cdev open at a time is all we model).
    weak var openFile: VfioFile?

    init(path: String, hasKVM: Bool) { self.path = path; self.hasKVM = hasKVM }
    var tsmBound: Bool { boundVdevice != nil }
}

/// Object kinds of the iommufd object table.
enum ObjKind: Sendable {
    case ioas, hwptPaging, hwptNested, device, viommu, vdevice, selftest, fault, veventq, hwQueue
}

struct Mapping { var iova: UInt64; var length: UInt64; var file: Bool }

/// One iommufd object. One class with per-kind fields keeps the table a
/// single dictionary and the code short.
final class SimObject {
    let id: UInt32
    let kind: ObjKind
    /// Held by other objects (or by the owning driver); destroy → EBUSY while > 0.
    var users = 0
    /// Objects this one holds a `users` reference on.
    var holds: [UInt32] = []

    // ioas
    var mappings: [Mapping] = []
    var allowed: [(UInt64, UInt64)] = []
    var hugePages: UInt64 = 1
    // hwpt
    var ioasId: UInt32 = 0
    var nestParent = false
    var dirtyCapable = false
    var dirtyEnabled = false
    var auto = false
    var attachCount = 0
    // device
    var pci: SimPciDevice?
    var mockFlags: UInt32 = 0
    var attachedHwpt: UInt32 = 0
    var vdeviceId: UInt32 = 0
    /// The vfio file that bound this device, or the selftest object id.
    weak var vfio: VfioFile?
    // viommu
    var kvm = false
    var veventqTypes: Set<UInt32> = []
    var virtIds: [UInt64: UInt32] = [:]
    var hwQueues: Set<UInt32> = []
    // vdevice
    var viommuId: UInt32 = 0
    var deviceId: UInt32 = 0
    var virtId: UInt64 = 0
    // veventq
    var type: UInt32 = 0

    init(id: UInt32, kind: ObjKind) { self.id = id; self.kind = kind }
}

/// The iommufd object table. Ids are small (lowest free id ≥ 1), so a slot
/// array indexed by id stands in for a dictionary: no hashing per lookup.
/// Iteration is in id order.
struct ObjectTable {
    private var slots: [SimObject?] = []
    private(set) var count = 0
    var isEmpty: Bool { count == 0 }

    subscript(id: UInt32) -> SimObject? {
        get {
            let i = Int(id)
            return i < slots.count ? slots[i] : nil
        }
        set {
            let i = Int(id)
            if i >= slots.count {
                guard newValue != nil else { return }
                slots.append(contentsOf: repeatElement(nil, count: i + 1 - slots.count))
            }
            count += (newValue == nil ? 0 : 1) - (slots[i] == nil ? 0 : 1)
            slots[i] = newValue
        }
    }

    var values: some Sequence<SimObject> {
        slots.lazy.compactMap { $0 }
    }

    mutating func removeAll() {
        slots.removeAll(keepingCapacity: true)
        count = 0
    }
}

/// State of one open /dev/iommu.
final class IommufdContext {
    var objects = ObjectTable()
    var tombstones: Set<UInt32> = []
    var nextId: UInt32 = 1
    var vfioCompatIoas: UInt32 = 0
    var rlimitMode: UInt64 = 0
    var closed = false
}

/// State of one open vfio cdev.
final class VfioFile {
    let device: SimPciDevice
    var ctx: IommufdContext?
    var devId: UInt32 = 0
    var everBound = false
    init(device: SimPciDevice) { self.device = device }
}

enum OpenFile {
    case iommufd(IommufdContext)
    case vfio(VfioFile)
    /// A /dev/kvm VM fd stand-in (tsm-v2's IOMMU_VIOMMU_KVM_FD needs one).
    case kvm
    /// fault queue, veventq: anonymous inodes.
    case anon
    /// dma-buf of `length` bytes exported from a BAR.
    case dmabuf(length: UInt64)
}

/// Per-ioctl data resolved from the profile once at init.
struct IoctlSpec {
    let name: String
    let nr: Int
    let minSize: Int
    let codec: StructCodec
    let handler: Handler
}

/// Result of a handler: return value or errno, and what of the kernel copy is
/// written back (generic respond, nothing, or named fields for the quirks).
struct HandlerResult {
    var value: Int
    var errno: Errno?
    var respond: Respond
    static func ok(_ v: Int = 0, respond: Respond = .full) -> HandlerResult { .init(value: v, errno: nil, respond: respond) }
    static func fail(_ e: Errno) -> HandlerResult { .init(value: -1, errno: e, respond: .none) }
}

/// The kernel's copy of the struct plus the caller's size, passed to handlers.
struct Cmd {
    var k: [UInt8]
    let codec: StructCodec
    let userSize: Int
    subscript(_ f: String) -> UInt64 {
        get { codec.get(k, f) }
        set { codec.set(&k, f, newValue) }
    }
    func u32(_ f: String) -> UInt32 { UInt32(truncatingIfNeeded: codec.get(k, f)) }
}

enum Handler {
    case destroy, ioasAlloc, allowIovas, ioasCopy, iovaRanges, ioasMap, ioasUnmap, option, vfioIoas
    case hwptAlloc, hwInfo, setDirty, getDirty, invalidate, faultAlloc, mapFile, viommuAlloc, vdeviceAlloc
    case changeProcess, veventqAlloc, hwQueueAlloc, testCmd, tsmOp, tsmReq, tsmGuestRequestV2, unknown
}

/// A deterministic in-memory Linux kernel for the iommufd / vfio cdev uAPI of
/// one profile. No real syscalls, no sleeps. See `documentedChoices` for the
/// places where the sources leave behaviour open and what this model does.
package final class SimulatedKernel: Backend {
    package var name: String { "sim" }
    package let profile: Profile
    package let mutations: Set<SimMutation>

    /// Where the sources leave behaviour open, what this simulator does and why.
    /// Kept in code so reports can quote it next to `profile.behaviour`.
    package static let documentedChoices: [String: String] = [
        "tsm_op.second_bind":
            "A second BIND of an already bound vdevice returns 0 and changes nothing (the TDI keeps its state, e.g. RUN stays RUN). "
            + "Reason: seed 001 review says repeated bind()/unbind() calls are handled safely by pci_tsm_bind/pci_tsm_unbind, "
            + "and the v5 handler passes the tsm_bind() result through without its own bound check.",
        "tsm_op.unbind_unbound":
            "UNBIND of a vdevice whose TDI is not bound returns 0. Reason: pci_tsm_unbind()/tsm_unbind() have no error for an unbound TDI "
            + "(tsm-uapi-history §5: VFIO unbind of an unbound device → 0; seed 001: __vfio_pci_tsm_unbind returns early when not bound).",
        "tsm_op.bind_other_device_busy":
            "BIND through a vdevice while the same physical TDI is bound through another vdevice → EBUSY (inferred).",
        "vfio_tsm.bind_unbind":
            "tsm-vfio-rfc: VFIO_DEVICE_TSM_BIND/UNBIND share the TSM_OP bind/unbind state: bind → CONFIG_LOCKED with the BARs claimed, "
            + "a second bind → 0 with no change and unbind of an unbound device → 0 (as tsm_op.second_bind / tsm_op.unbind_unbound). "
            + "Order: argsz < minsz or flags ≠ 0 → EINVAL; no iommufd device → EINVAL; vdevice_id unknown, of another type or of another "
            + "device → ENOENT (iommufd lookup rule of tsm-uapi-history §5; inferred for bind); no KVM → ENODEV (as TSM_OP); "
            + "pad and bytes past minsz are never read (§14 \"Unchecked pad\").",
        "tdisp.auto_rebind":
            "MSE clear (config command write), VFIO_DEVICE_RESET (FLR), D3hot (LOW_POWER_ENTRY) and close unbind first and never re-bind "
            + "(seed 001: the guest must bind/attest/accept again).",
        "mmio.host_access_while_bound":
            "hostMMIOAccess on a BAR of a TSM-bound device → EINVAL (bind takes exclusive region ownership, seed 000; "
            + "Yilun's private-MMIO RFC returned EINVAL for mmap/rw of a private BAR).",
        "dmabuf.while_bound":
            "VFIO_DEVICE_FEATURE_DMA_BUF while the device is TSM-bound → EBUSY: the BARs are claimed exclusively (seed 000) and 7.2 has no "
            + "private dma-buf flag, so an export would give the host MMIO access. State conflict → EBUSY per contract §5.7 (inferred).",
        "tsm.arch":
            "The simulated TSM is SEV (tvm_arch 2). post-v5: ops 6/7 need tvm_arch SEV; a valid arch other than SEV reaching a bound TDI → EINVAL "
            + "from the TSM driver (after the ENXIO bound check).",
        "tsm.response":
            "The TSM consumes up to 256 request bytes and produces a 32-byte response; byte i = (i*31 + scope/op + sum(request)) & 0xff. "
            + "Return = resp_len - written when resp_uptr != 0, else req_len - consumed.",
        "tsm.state_change":
            "A forwarded STATE_CHANGE (v5 scope 1, v2 scope 1, post-v5 op SET_TDI_STATE 5) moves CONFIG_LOCKED → RUN; in RUN it is a no-op.",
        "kvm.source":
            "v5/post-v5: the KVM comes from the device node (vfio0 has one, vfio1 and selftest mock devices do not) and is copied to a vIOMMU "
            + "allocated on that device. tsm-v2: from IOMMU_VIOMMU_KVM_FD + kvm_vm_fd naming an fd opened on /dev/kvm (else EBADF).",
        "iommu.driver":
            "All devices sit behind one simulated IOMMU driver modelled on the selftest mock: HW info type SELFTEST, vIOMMU/veventq/hw-queue "
            + "type SELFTEST, nested data IOMMU_HWPT_DATA_SELFTEST, invalidation data SELFTEST (8-byte entries).",
        "map_file.fds":
            "IOMMU_IOAS_MAP_FILE: fds 0-2 and fds this simulator handed out are files of 1 GiB; dma-buf fds have their export length; "
            + "anything else → EBADF.",
        "iommufd.close":
            "Closing /dev/iommu destroys every object (unbinding TSM) at once; vfio files bound to it stay bound but their device id is gone.",
        "destroy.device":
            "IOMMU_DESTROY of a device id → EBUSY (the binding driver holds it); destroying the selftest object unbinds the mock device "
            + "and tombstones its vdevice.",
        "iommufd.compat":
            "NR < 0x80 on /dev/iommu: only VFIO_GET_API_VERSION (100) → 0; everything else → ENOTTY.",
    ]

    // Device nodes.
    let pciDevices: [String: SimPciDevice]
    var files: [Int32: OpenFile] = [:]
    var nextFd: Int32 = 3
    /// Spare buffer for the kernel copy of an ioctl argument, reused so the
    /// per-ioctl path does not allocate a fresh [UInt8] each time.
    var scratch: [UInt8] = []

    /// iommufd dispatch table indexed by NR (0..255); nil = not in the profile.
    var table: [IoctlSpec?] = Array(repeating: nil, count: 256)
    /// Highest iommufd NR the table reaches (0xa0 with the test command).
    var tableEnd = 0x80
    // Commonly used profile facts, resolved once.
    var vfioMin: [Int: Int] = [:]
    var codecs: [String: StructCodec] = [:]
    let tsmReqFlavour: TsmReqFlavour
    let tsmOpField: String

    enum TsmReqFlavour { case none, v2, v5, postV5 }

    package init(profile: Profile, mutations: Set<SimMutation> = []) {
        self.profile = profile
        self.mutations = mutations
        pciDevices = [
            "/dev/vfio/devices/vfio0": SimPciDevice(path: "/dev/vfio/devices/vfio0", hasKVM: true),
            "/dev/vfio/devices/vfio1": SimPciDevice(path: "/dev/vfio/devices/vfio1", hasKVM: false),
        ]
        for s in profile.structs { codecs[s.name] = StructCodec(s) }
        let handlers: [String: Handler] = [
            "IOMMU_DESTROY": .destroy, "IOMMU_IOAS_ALLOC": .ioasAlloc, "IOMMU_IOAS_ALLOW_IOVAS": .allowIovas,
            "IOMMU_IOAS_COPY": .ioasCopy, "IOMMU_IOAS_IOVA_RANGES": .iovaRanges, "IOMMU_IOAS_MAP": .ioasMap,
            "IOMMU_IOAS_UNMAP": .ioasUnmap, "IOMMU_OPTION": .option, "IOMMU_VFIO_IOAS": .vfioIoas,
            "IOMMU_HWPT_ALLOC": .hwptAlloc, "IOMMU_GET_HW_INFO": .hwInfo, "IOMMU_HWPT_SET_DIRTY_TRACKING": .setDirty,
            "IOMMU_HWPT_GET_DIRTY_BITMAP": .getDirty, "IOMMU_HWPT_INVALIDATE": .invalidate,
            "IOMMU_FAULT_QUEUE_ALLOC": .faultAlloc, "IOMMU_IOAS_MAP_FILE": .mapFile, "IOMMU_VIOMMU_ALLOC": .viommuAlloc,
            "IOMMU_VDEVICE_ALLOC": .vdeviceAlloc, "IOMMU_IOAS_CHANGE_PROCESS": .changeProcess,
            "IOMMU_VEVENTQ_ALLOC": .veventqAlloc, "IOMMU_HW_QUEUE_ALLOC": .hwQueueAlloc, "IOMMU_TEST_CMD": .testCmd,
            "IOMMU_VDEVICE_TSM_OP": .tsmOp, "IOMMU_VDEVICE_TSM_REQ": .tsmReq,
            "IOMMU_VDEVICE_TSM_GUEST_REQUEST": .tsmGuestRequestV2,
        ]
        var flavour = TsmReqFlavour.none
        for io in profile.ioctls {
            guard let codec = codecs[io.struct] else { continue }
            if io.family == .iommufd {
                guard io.type == 0x3B, (0..<256).contains(io.nr) else { continue }
                let h = handlers[io.name] ?? .unknown
                table[io.nr] = IoctlSpec(name: io.name, nr: io.nr, minSize: io.minSize ?? codec.size, codec: codec, handler: h)
                tableEnd = max(tableEnd, io.nr)
                if h == .tsmReq { flavour = codec.has("tvm_arch") ? .postV5 : .v5 }
                if h == .tsmGuestRequestV2 { flavour = .v2 }
            } else {
                vfioMin[io.nr] = io.minSize ?? codec.size
            }
        }
        tsmReqFlavour = flavour
        tsmOpField = codecs["iommu_vdevice_tsm_op"]?.has("op") == true ? "op" : "type"
    }

    // MARK: Backend

    package func open(_ path: String) -> SyscallResult {
        let f: OpenFile
        if path == "/dev/iommu" {
            f = .iommufd(IommufdContext())
        } else if let d = pciDevices[path] {
            // One cdev open at a time, like a device a VMM holds exclusively.
            if d.openFile != nil { return .fail(Errno.EBUSY) }
            let v = VfioFile(device: d)
            d.openFile = v
            f = .vfio(v)
        } else if path == "/dev/kvm" {
            f = .kvm
        } else {
            return .fail(Errno.ENOENT)
        }
        return .ok(Int(install(f)))
    }

    func install(_ f: OpenFile) -> Int32 {
        let fd = nextFd
        nextFd += 1
        files[fd] = f
        return fd
    }

    package func close(_ fd: Int32) -> SyscallResult {
        guard let f = files.removeValue(forKey: fd) else { return .fail(Errno.EBADF) }
        switch f {
        case .iommufd(let ctx):
            destroyAll(ctx)
        case .vfio(let v):
            // Unbind the TDI before the device is disabled (seed 000/001).
            tsmUnbind(v.device)
            unbindVfio(v)
            v.device.openFile = nil
            // Closing disables the device: MSE off, power state back to D0 for the next open.
            v.device.memoryEnabled = true
            v.device.d3hot = false
        default: break
        }
        return .ok()
    }

    package func ioctl(_ fd: Int32, _ request: UInt64, _ arg: inout [UInt8]?, memory: UserMemory) -> SyscallResult {
        guard let f = files[fd] else { return .fail(Errno.EBADF) }
        switch f {
        case .iommufd(let ctx): return iommufdIoctl(ctx, request, &arg, memory)
        case .vfio(let v): return vfioIoctl(v, request, &arg, memory)
        default: return .fail(Errno.ENOTTY)
        }
    }

    // MARK: Inspectors for tests

    /// Objects alive in every open iommufd (tombstones excluded).
    package var liveObjectCount: Int {
        var n = 0
        for case .iommufd(let c) in files.values { n += c.objects.count }
        return n
    }

    /// Objects alive in the iommufd open as `fd`.
    package func liveObjectCount(fd: Int32) -> Int {
        if case .iommufd(let c)? = files[fd] { return c.objects.count }
        return 0
    }

    /// TDISP state of the TDI behind a vdevice of iommufd `fd`; nil if no such vdevice or no TSM.
    package func tdiState(fd: Int32, vdevice: UInt32) -> TdispState? {
        guard case .iommufd(let c)? = files[fd], let v = c.objects[vdevice], v.kind == .vdevice,
              let d = c.objects[v.deviceId], let p = d.pci else { return nil }
        return p.tdi
    }

    /// TDISP state of the device behind a node path.
    package func tdiState(path: String) -> TdispState? { pciDevices[path]?.tdi }

    /// How often the TSM bound the TDI at `path` (a re-bind would raise it).
    package func tsmBindCount(path: String) -> Int { pciDevices[path]?.bindCount ?? 0 }

    /// Host mmap/read/write of a BAR through a vfio fd. Not bound to iommufd →
    /// EINVAL; not an MMIO BAR → EINVAL; TDI bound (private MMIO) → EINVAL.
    package func hostMMIOAccess(fd: Int32, bar: Int) -> SyscallResult {
        guard case .vfio(let v)? = files[fd] else { return .fail(Errno.EBADF) }
        guard v.everBound else { return .fail(Errno.EINVAL) }
        guard bar >= 0, bar < 6, SimulatedKernel.bars[bar].size > 0 else { return .fail(Errno.EINVAL) }
        if v.device.tsmBound { return .fail(Errno.EINVAL) }
        return .ok()
    }

    /// A write of the PCI command register through the vfio config region.
    /// Clearing PCI_COMMAND_MEMORY (bit 1) unbinds the TDI first.
    package func configWriteCommand(fd: Int32, value: UInt16) -> SyscallResult {
        guard case .vfio(let v)? = files[fd] else { return .fail(Errno.EBADF) }
        guard v.everBound else { return .fail(Errno.EINVAL) }
        let mem = value & 0x2 != 0
        if !mem { tsmUnbind(v.device) }
        v.device.memoryEnabled = mem
        return .ok()
    }

    /// Move the device to D3hot (true) or D0; D3hot unbinds the TDI first.
    package func setPowerState(fd: Int32, d3hot: Bool) -> SyscallResult {
        guard case .vfio(let v)? = files[fd] else { return .fail(Errno.EBADF) }
        guard v.everBound else { return .fail(Errno.EINVAL) }
        if d3hot { tsmUnbind(v.device) }
        v.device.d3hot = d3hot
        return .ok()
    }

    // MARK: TSM binding shared by iommufd and vfio paths

    /// Bind the TDI through vdevice `v` (iommufd TSM_OP BIND and the RFC's
    /// VFIO_DEVICE_TSM_BIND): CONFIG_LOCKED, BARs claimed exclusively. Already
    /// bound through `v` → nil (no change, documentedChoices["tsm_op.second_bind"]);
    /// bound through another vdevice → EBUSY. Returns nil on success, else the errno.
    func tsmBind(_ p: SimPciDevice, through v: SimObject) -> Errno? {
        if let b = p.boundVdevice { return b === v ? nil : Errno.EBUSY }
        p.boundVdevice = v
        p.tdi = .configLocked
        p.bindCount += 1
        return nil
    }

    /// Unbind the TDI: back to CONFIG_UNLOCKED, release the exclusive BAR claim.
    func tsmUnbind(_ d: SimPciDevice) {
        guard d.tsmBound else { return }
        d.boundVdevice = nil
        d.tdi = .configUnlocked
    }

    /// Simulated BARs: BAR0 64 KiB MMIO, BAR2 1 MiB 64-bit MMIO (BAR3 is its
    /// upper half), BAR4 4 KiB MMIO (MSI-X table), BAR1 and BAR5 unimplemented.
    static let bars: [(size: UInt64, mmio: Bool)] = [
        (0x10000, true), (0, false), (0x100000, true), (0, false), (0x1000, true), (0, false),
    ]
}
