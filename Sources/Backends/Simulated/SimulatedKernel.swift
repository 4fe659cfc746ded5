import Cases
import Layout

/// A deterministic in-memory Linux kernel for the iommufd / vfio cdev uAPI of
/// one profile. No real syscalls, no sleeps. See `documentedChoices` for the
/// places where the sources leave behaviour open and what this model does.
package final class SimulatedKernel: Backend {
    package var name: String { "sim" }
    package let profile: Profile
    package let mutations: Set<SimMutation>

    // Device nodes.
    let pciDevices: [String: SimPciDevice]
    var files: [Int32: OpenFile] = [:]
    /// The first descriptor a process has free (after stdin, stdout and stderr).
    static let firstFd: Int32 = 3
    /// Under sim-exec's preload: the process's real descriptors (HostFiles.swift).
    package var host: HostFiles?
    /// O_CLOEXEC for the next file `install` numbers from the host.
    var installCloexec = true
    /// The next iopt_pages a map makes (Mapping.pages).
    var nextPages: UInt64 = 1
    /// Spare buffer for the kernel copy of an ioctl argument, reused so the
    /// per-ioctl path does not allocate a fresh [UInt8] each time.
    var scratch: [UInt8] = []

    /// iommufd dispatch table indexed by NR (0..255); nil = not in the profile.
    let table: [IoctlSpec?]
    /// Highest iommufd NR the table reaches (0xa0 with the test command).
    let tableEnd: Int
    let iommufd: IommufdNumbers
    let vfio: VfioNumbers
    let events: EventSizes
    let compatNumbers: CompatNumbers

    /// The kernel of `profile`. Every field and constant a handler reads is
    /// resolved here: a profile that lacks one is an `InputError` now, not a
    /// check that silently reads 0 later.
    package init(profile: Profile, mutations: Set<SimMutation> = []) throws {
        self.profile = profile
        self.mutations = mutations
        pciDevices = [
            DeviceNodes.tsmDevice: SimPciDevice(path: DeviceNodes.tsmDevice, hasKVM: true),
            DeviceNodes.tsmDeviceNoKvm: SimPciDevice(path: DeviceNodes.tsmDeviceNoKvm, hasKVM: false),
        ]
        let numbers = try IommufdNumbers(profile)
        var table = [IoctlSpec?](repeating: nil, count: 256), tableEnd = numbers.cmdBase
        var vfioTable = [VfioSpec?](repeating: nil, count: 256)
        for io in profile.ioctls {
            guard let s = profile.structure(io.struct) else {
                throw InputError("profile \(profile.name): \(io.name) names struct \(io.struct), which it lacks")
            }
            let minSize = io.minSize ?? s.lp64.size
            guard (0..<256).contains(io.nr) else { continue }
            if io.family == .iommufd {
                guard UInt64(io.type) == numbers.type else { continue }
                table[io.nr] = IoctlSpec(name: io.name, nr: io.nr, minSize: minSize, size: s.lp64.size,
                                         handler: try Handler.resolve(io, profile: profile))
                tableEnd = max(tableEnd, io.nr)
            } else {
                vfioTable[io.nr] = VfioSpec(minSize: minSize, tailChecked: io.checksTail,
                                            handler: try VfioHandler.resolve(io, profile: profile))
            }
        }
        self.table = table
        self.tableEnd = tableEnd
        iommufd = numbers
        vfio = try VfioNumbers(profile, table: vfioTable)
        events = try EventSizes(profile)
        compatNumbers = try CompatNumbers(profile)
    }

    // MARK: Backend

    package func open(_ path: String) -> SyscallResult {
        let f: OpenFile
        if path == DeviceNodes.iommu {
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
        let fd = install(f)
        if fd < 0 { if case .vfio(let v) = f { v.device.openFile = nil } }
        return fd < 0 ? .fail(.EMFILE) : .ok(Int(fd))
    }

    /// Number a new file: the next free number, or under the preload a real descriptor (-1 when none is left).
    func install(_ f: OpenFile) -> Int32 {
        if let host {
            guard let fd = host.reserve(cloexec: installCloexec) else { return -1 }
            files[fd] = f
            return fd
        }
        // The lowest free number, as a process gets (0-2 being its standard streams): the same
        // numbers as a real process opening the same files, so a literal descriptor names the same file.
        var fd = SimulatedKernel.firstFd
        while files[fd] != nil { fd += 1 }
        files[fd] = f
        return fd
    }

    package func close(_ fd: Int32) -> SyscallResult {
        guard let f = files.removeValue(forKey: fd) else { return .fail(Errno.EBADF) }
        if sharedElsewhere(f) { return .ok() }
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
        case .eventq(let q): q.object?.users -= 1  // the descriptor's reference
        case .access(let a):
            closeAccess(a)
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
        guard case .iommufd(let c)? = files[fd], let v = c.vdevice(vdevice), let p = c.device(v.deviceId)?.pci
        else { return nil }
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
        let bars = SimulatedKernel.bars
        guard bar >= 0, bar < bars.count, bars[bar].size > 0 else { return .fail(Errno.EINVAL) }
        if v.device.tsmBound { return .fail(Errno.EINVAL) }
        return .ok()
    }

    /// A write of the PCI command register through the vfio config region.
    /// Clearing PCI_COMMAND_MEMORY (bit 1) unbinds the TDI first.
    package func configWriteCommand(fd: Int32, value: UInt16) -> SyscallResult {
        guard case .vfio(let v)? = files[fd] else { return .fail(Errno.EBADF) }
        guard v.everBound else { return .fail(Errno.EINVAL) }
        let mem = value & SimulatedKernel.pciCommandMemory != 0
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
    func tsmBind(_ p: SimPciDevice, through v: VdeviceObject) -> Errno? {
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

    /// PCI_COMMAND_MEMORY: memory space enable (MSE).
    static let pciCommandMemory: UInt16 = 0x2

    /// Simulated BARs: BAR0 64 KiB MMIO, BAR2 1 MiB 64-bit MMIO (BAR3 is its
    /// upper half), BAR4 4 KiB MMIO (MSI-X table), BAR1 and BAR5 unimplemented.
    static let bars: [(size: UInt64, mmio: Bool)] = [
        (0x10000, true), (0, false), (0x100000, true), (0, false), (0x1000, true), (0, false),
    ]
}

/// One vfio cdev ioctl of the profile.
struct VfioSpec {
    let minSize: Int
    /// copy_struct_from_user (a non-zero tail is E2BIG) or copy_from_user of minsz.
    let tailChecked: Bool
    let handler: VfioHandler
}

/// The vfio numbering facts and handlers, from the profile.
struct VfioNumbers {
    /// `_IOC_TYPE` of the vfio requests (VFIO_TYPE, ';').
    let type: UInt64
    /// VFIO_DEVICE_RESET (an `_IO` request without a struct).
    let reset: UInt64
    /// By NR; nil = not in the profile.
    let table: [VfioSpec?]

    init(_ profile: Profile, table: [VfioSpec?]) throws {
        type = try FieldResolver.constant("VFIO_TYPE", in: profile, for: "vfio dispatch")
        reset = try FieldResolver.constant("VFIO_DEVICE_RESET", in: profile, for: "vfio dispatch")
        self.table = table
    }
}
