import Cases

/// Reads a backend's object table the way any process can: IOMMU_HWPT_INVALIDATE
/// with no entries on each id (`Explained.tableClasses`). Costs one ioctl per id.
struct TableProbe {
    /// The highest id probed; a sequence's objects stay far below.
    static let limit: UInt32 = 4096
    let op: FuzzOp
    let index: Int
    let idField: FuzzField

    init?(_ vocabulary: Vocabulary) {
        guard let i = vocabulary.probe, let f = vocabulary.ops[i].field("hwpt_id") else { return nil }
        op = vocabulary.ops[i]
        index = i
        idField = op.fields[f]
    }

    /// The call that probes `id`, as a case's checked call would send it.
    func call(id: UInt32, serial: Int) -> FuzzCall {
        var bytes = [UInt8](repeating: 0, count: op.size)
        CompiledCall.store(UInt64(op.size), into: &bytes, at: 0, width: 4)
        CompiledCall.store(UInt64(id), into: &bytes, at: idField.offset, width: idField.width)
        return FuzzCall(serial: serial, op: index, bytes: bytes, null: false, patches: [])
    }

    /// Per id 1...upTo: 0 for success, else the errno.
    func snapshot(_ run: SideRun, upTo: UInt32) -> [Int32] {
        guard run.iommufd >= 0, upTo > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: op.size)
        CompiledCall.store(UInt64(op.size), into: &bytes, at: 0, width: 4)
        var out: [Int32] = []
        out.reserveCapacity(Int(upTo))
        for id in 1...upTo {
            CompiledCall.store(UInt64(id), into: &bytes, at: idField.offset, width: idField.width)
            var arg: [UInt8]? = bytes
            let r = run.side.backend.ioctl(run.iommufd, op.request, &arg, memory: run.memory)
            out.append(r.failed ? r.errno.rawValue : 0)
        }
        return out
    }

    /// The ids a snapshot shows alive.
    static func alive(_ snapshot: [Int32]) -> Set<UInt32> {
        Set(snapshot.indices.filter { snapshot[$0] != Errno.ENOENT.rawValue }.map { UInt32($0 + 1) })
    }

    /// The first id the two snapshots differ on.
    static func firstDifference(_ a: [Int32], _ b: [Int32]) -> (id: UInt32, a: Int32, b: Int32)? {
        guard let i = a.indices.first(where: { i in i < b.count && a[i] != b[i] }) else { return nil }
        return (UInt32(i + 1), a[i], b[i])
    }
}

extension TableProbe {
    /// Where one snapshot ends before the other (the reference had no iommufd): the first id only one has.
    static func shorter(_ a: [Int32], _ b: [Int32]) -> (id: UInt32, a: Int32, b: Int32)? {
        guard a.count != b.count else { return nil }
        let i = min(a.count, b.count)
        return (UInt32(i + 1), i < a.count ? a[i] : Errno.EBADF.rawValue, i < b.count ? b[i] : Errno.EBADF.rawValue)
    }
}

extension Int32 {
    /// A probe result as reports print it.
    var probeText: String { self == 0 ? "OK" : Errno(rawValue: self).name }
}
