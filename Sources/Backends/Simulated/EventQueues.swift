import Cases
import Layout

/// What a fault queue (IOMMU_FAULT_QUEUE_ALLOC) or a vEVENTQ has pending,
/// read through its file (eventq.c): page faults waiting to be read, then
/// to be answered, or vEVENTs with the lost-events header once it is full.
final class EventQueue {
    enum Kind { case fault, vevent(depth: UInt64) }
    struct PageFault { var devId, pasid, grpid, perm: UInt32; var addr: UInt64 }
    let kind: Kind
    var faults: [PageFault] = []
    /// Read faults by cookie, waiting for their response.
    var responses: [UInt32: PageFault] = [:]
    /// vEVENTs: their data, or nil for the lost-events header, each with its sequence number.
    var vevents: [(data: [UInt8]?, sequence: UInt32)] = []
    /// The next vEVENT's sequence number (it wraps at INT_MAX).
    var sequence: UInt32 = 0
    /// The fault or vEVENTQ object: its descriptor holds a `users` reference on it until closed.
    weak var object: SimObject?
    init(_ kind: Kind) { self.kind = kind }
}

/// What the queues' files read and write, from the profile: sizeof(struct
/// iommu_hwpt_pgfault) and (struct iommu_hwpt_page_response), the response
/// codes, and sizeof(struct iommufd_vevent_header) where the version has vEVENTs.
struct EventSizes {
    let fault, response: Int
    let header: Int?
    /// iommufd_vevent_header's flags and sequence, and IOMMU_VEVENTQ_FLAG_LOST_EVENTS (where vEVENTs exist).
    let headerFields: (flags: FieldHandle, sequence: FieldHandle, lost: UInt64)?
    let respCodes: Set<UInt64>
    /// struct iommu_hwpt_pgfault's fields, as a read hands them out.
    let record: FaultRecord
    init(_ p: Profile) throws {
        func size(_ name: String) throws -> Int {
            guard let s = p.structure(name) else {
                throw InputError("profile \(p.name) has no struct \(name) (fault queue)")
            }
            return s.lp64.size
        }
        fault = try size("iommu_hwpt_pgfault"); response = try size("iommu_hwpt_page_response")
        header = p.structure("iommufd_vevent_header")?.lp64.size
        if header != nil {
            let r = try FieldResolver(ioctl: "vEVENTQ read", structName: "iommufd_vevent_header", profile: p)
            headerFields = (try r("flags"), try r("sequence"), try r.constant("IOMMU_VEVENTQ_FLAG_LOST_EVENTS"))
        } else {
            headerFields = nil
        }
        respCodes = [try p.constant("IOMMUFD_PAGE_RESP_SUCCESS"), try p.constant("IOMMUFD_PAGE_RESP_INVALID")]
        record = try FaultRecord(FieldResolver(ioctl: "fault queue read", structName: "iommu_hwpt_pgfault", profile: p))
    }
}

/// The fields of one page fault as read(2) of a fault queue writes it.
struct FaultRecord {
    let devId, pasid, grpid, perm, addr, length, cookie: FieldHandle
    init(_ r: FieldResolver) throws {
        devId = try r("dev_id"); pasid = try r("pasid"); grpid = try r("grpid"); perm = try r("perm")
        addr = try r("addr"); length = try r("length"); cookie = try r("cookie")
    }

    func encode(_ f: EventQueue.PageFault, cookie c: UInt32, size: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: size)
        devId.store(UInt64(f.devId), into: &b); pasid.store(UInt64(f.pasid), into: &b)
        grpid.store(UInt64(f.grpid), into: &b); perm.store(UInt64(f.perm), into: &b)
        addr.store(f.addr, into: &b); length.store(0, into: &b); cookie.store(UInt64(c), into: &b)  // length: 0
        return b
    }
}

/// The queue objects: a fault queue carries its own; VeventqObject has one too.
final class FaultObject: SimObject {
    let queue = EventQueue(.fault)
    init(id: UInt32) { super.init(id: id, kind: .fault) }
}

extension SimulatedKernel {
    package func read(_ fd: Int32, count: Int) -> SyscallResult {
        var out: [UInt8] = []
        return read(fd, into: &out, count: count)
    }

    /// read(2), with the bytes it hands out in `out`.
    package func read(_ fd: Int32, into out: inout [UInt8], count: Int) -> SyscallResult {
        guard let f = files[fd] else { return .fail(.EBADF) }
        guard case .eventq(let q) = f else { return .fail(.EINVAL) }
        switch q.kind {
        case .fault: return readFaults(q, count, &out)
        case .vevent: return readVevents(q, count, &out)
        }
    }

    package func write(_ fd: Int32, _ bytes: [UInt8]) -> SyscallResult {
        guard let f = files[fd] else { return .fail(.EBADF) }
        // A vEVENTQ's file has no write (EINVAL from the VFS).
        guard case .eventq(let q) = f, case .fault = q.kind else { return .fail(.EINVAL) }
        let size = events.response
        if bytes.count % size != 0 { return .fail(.ESPIPE) }
        var done = 0
        while done < bytes.count {
            let cookie = UInt32(StructCodec.load(bytes, done, 4)), code = StructCodec.load(bytes, done + 4, 4)
            guard events.respCodes.contains(code), q.responses.removeValue(forKey: cookie) != nil else {
                return done == 0 ? .fail(.EINVAL) : .ok(done)
            }
            done += size
        }
        return .ok(done)
    }

    /// Whole faults only, each with a fresh cookie (the lowest free one from 1).
    func readFaults(_ q: EventQueue, _ count: Int, _ out: inout [UInt8]) -> SyscallResult {
        let size = events.fault
        if count % size != 0 { return .fail(.ESPIPE) }
        var done = 0
        while let fault = q.faults.first {
            if done >= count || size > count - done { return done == 0 ? .fail(.EINVAL) : .ok(done) }
            q.faults.removeFirst()
            var cookie: UInt32 = 1  // XA_FLAGS_ALLOC1
            while q.responses[cookie] != nil { cookie += 1 }
            q.responses[cookie] = fault
            out += events.record.encode(fault, cookie: cookie, size: size)
            done += size
        }
        return .ok(done)
    }

    /// Header and data of each vEVENT; the lost-events header alone.
    func readVevents(_ q: EventQueue, _ count: Int, _ out: inout [UInt8]) -> SyscallResult {
        guard let header = events.header, let h = events.headerFields else { return .fail(.EINVAL) }
        if count < header { return .fail(.EINVAL) }
        var done = 0
        while let next = q.vevents.first {
            if done >= count || header > count - done { break }
            let size = next.data?.count ?? 0
            if next.data != nil, header + size > count - done { return done == 0 ? .fail(.EINVAL) : .ok(done) }
            q.vevents.removeFirst()
            var head = [UInt8](repeating: 0, count: header)
            h.flags.store(next.data == nil ? h.lost : 0, into: &head)
            h.sequence.store(UInt64(next.sequence), into: &head)
            out += head + (next.data ?? [])
            done += header + size
        }
        return .ok(done)
    }

    /// The mock's page fault into the fault queue of the HWPT `dev` is attached to.
    /// The HWPT the fault's PASID is attached to, else the device's own (the mock keeps a user PASID table).
    func deliverFault(_ ctx: IommufdContext, _ dev: DeviceObject, _ fault: EventQueue.PageFault) {
        guard let h = ctx.hwpt(dev.pasids[fault.pasid] ?? dev.attachedHwpt),
              let q = h.holds.lazy.compactMap({ ctx.objects[$0] as? FaultObject }).first else { return }
        q.queue.faults.append(fault)
    }

    /// A vEVENT of `data` bytes; past the depth, the lost-events header once.
    /// Each takes the next sequence number; a lost-events header at the tail moves to take the new one.
    func deliverVevent(_ q: EventQueue, data: [UInt8]) {
        guard case .vevent(let depth) = q.kind else { return }
        let queued = q.vevents.filter { $0.data != nil }.count
        if UInt64(queued) < depth {
            q.vevents.append((data, q.sequence))
        } else {
            if q.vevents.last.map({ $0.data == nil }) ?? false { q.vevents.removeLast() }
            q.vevents.append((nil, q.sequence))
        }
        q.sequence = (q.sequence + 1) & UInt32(Int32.max)
    }
}
