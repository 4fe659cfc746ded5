import Cases
import SimulatedBackend

/// One backend as the fuzzer drives it: the simulator (which can also show
/// its own object table and check its invariants) or a kernel.
package final class FuzzSide {
    package let backend: Backend
    package let sim: SimulatedKernel?
    /// "sim", "kernel" (or "reference sim" when a second simulator stands in for it).
    package let label: String

    package init(backend: Backend, label: String) {
        self.backend = backend
        sim = backend as? SimulatedKernel
        self.label = label
    }
}

/// What one call did on one backend.
package struct SideOutcome {
    var result: SyscallResult
    /// The struct as sent (symbols resolved) and as the kernel left it.
    var sent: [UInt8]?
    var back: [UInt8]?
    /// Each buffer of the call (by patch index): its contents afterwards.
    var buffers: [[UInt8]]
}

/// One sequence on one backend: its descriptors, memory, and what each
/// call left in its struct (later calls' symbols read from there).
final class SideRun {
    let side: FuzzSide
    let memory: UserMemory
    var iommufd: Int32 = -1
    var vfio: Int32?
    /// serial → the struct a successful call left.
    var outputs: [Int: [UInt8]] = [:]
    /// Descriptors the sequence got, closed at its end.
    var fds: [Int32] = []
    let ops: [FuzzOp]
    /// serial → op index, for the calls that ran.
    var opOf: [Int: Int] = [:]

    init(_ side: FuzzSide, ops: [FuzzOp]) {
        self.side = side
        self.ops = ops
        memory = UserMemory(real: side.backend.needsRealUserMemory)
    }

    /// Opens /dev/iommu (and the vfio cdev); the error if one fails.
    func open(vfio: Bool) -> String? {
        let r = side.backend.open(DeviceNodes.iommu)
        if r.failed { return "open \(DeviceNodes.iommu) → \(r.errno.name)" }
        iommufd = Int32(r.value)
        guard vfio else { return nil }
        let v = side.backend.open(DeviceNodes.tsmDevice)
        if v.failed { return "open \(DeviceNodes.tsmDevice) → \(v.errno.name)" }
        self.vfio = Int32(v.value)
        return nil
    }

    func run(_ call: FuzzCall) -> SideOutcome {
        let op = ops[call.op]
        opOf[call.serial] = call.op
        var arg: [UInt8]? = nil
        var bases: [UInt64] = []
        if !call.null {
            var bytes = call.bytes
            for p in call.patches {
                let f = op.fields[p.field]
                let v = value(p.symbol)
                if case .buffer(let b) = p.symbol { bases.append(v &- UInt64(b.offset)) }
                CompiledCall.store(v, into: &bytes, at: f.offset, width: f.width)
            }
            arg = bytes
        }
        let sent = arg
        let fd = op.target == .iommufd ? iommufd : (vfio ?? -1)
        let r = side.backend.ioctl(fd, op.request, &arg, memory: memory)
        var buffers: [[UInt8]] = []
        var i = 0
        for p in call.patches {
            guard case .buffer(let b) = p.symbol, i < bases.count else { continue }
            buffers.append(memory.read(bases[i], b.size) ?? [])
            i += 1
        }
        if !r.failed, let back = arg {
            outputs[call.serial] = back
            for f in op.fields where f.kind == .outputFd {
                fds.append(Int32(truncatingIfNeeded: CompiledCall.load(back, at: f.offset, width: 4)))
            }
            let which = CompiledCall.load(back, at: 4, width: 4)
            for u in op.unionFds where u.op == which {
                fds.append(Int32(truncatingIfNeeded: CompiledCall.load(back, at: u.offset, width: 4)))
            }
        }
        return SideOutcome(result: r, sent: sent, back: arg, buffers: buffers)
    }

    /// A symbol's value on this backend.
    func value(_ s: Symbol) -> UInt64 {
        switch s {
        case .iommufd: return UInt64(UInt32(bitPattern: iommufd))
        case .output(let call, let field, let literal):
            guard let back = outputs[call], let origin = originField(call, field) else { return literal }
            return CompiledCall.load(back, at: origin.offset, width: origin.width)
        case .fd(let call, let field):
            guard let back = outputs[call], let origin = originField(call, field) else { return 0xffff_ffff }
            return CompiledCall.load(back, at: origin.offset, width: origin.width)
        case .buffer(let b): return memory.allocate(b.contents) &+ UInt64(b.offset)
        }
    }

    /// Where a symbol's source field lies: field `field` of call `call`'s op.
    func originField(_ call: Int, _ field: Int) -> FuzzField? {
        guard let op = opOf[call], ops[op].fields.indices.contains(field) else { return nil }
        return ops[op].fields[field]
    }

    /// Closes what the sequence opened: its descriptors, the vfio cdev, the iommufd.
    func close() -> [String] {
        var errors: [String] = []
        for fd in fds.reversed() {
            let r = side.backend.close(fd)
            if r.failed { errors.append("close \(fd) → \(r.errno.name)") }
        }
        fds.removeAll()
        if let v = vfio, side.backend.close(v).failed { errors.append("close vfio → failed") }
        vfio = nil
        if iommufd >= 0, side.backend.close(iommufd).failed { errors.append("close iommufd → failed") }
        iommufd = -1
        return errors
    }
}
