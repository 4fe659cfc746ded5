import Cases

/// Where one call, or the state after it, differed between the two backends
/// (or where the simulator broke its own invariants).
package struct Disagreement: Sendable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// errno or return value.
        case result
        /// Bytes the kernel wrote back into the struct: these fields.
        case written([Int])
        /// The contents of the call's user buffers: these patch indexes.
        case buffers([Int])
        /// The object table after the call: the probe of this id, and what the reference answered.
        case table(id: UInt32, reference: Int32)
        /// The simulator's own bookkeeping (`--backend sim`), or closing the sequence.
        case invariant
    }
    /// Index of the call in the sequence run (the last call that ran).
    package var index: Int
    package var kind: Kind
    package var detail: String
    package var description: String { "call \(index + 1): \(detail)" }
}

/// Compares what one call did on the two backends.
struct Oracle {
    let op: FuzzOp

    func compare(_ a: SideOutcome, _ b: SideOutcome, index: Int, labels: (String, String)) -> Disagreement? {
        if a.result != b.result {
            return Disagreement(index: index, kind: .result, detail: "\(op.name): \(labels.0) \(text(a.result)), "
                                + "\(labels.1) \(text(b.result))")
        }
        let fields = differingFields(a, b)
        if !fields.isEmpty {
            let names = fields.map { field in
                let f = op.fields[field]
                return "\(f.name) \(hex(a.back, f)) vs \(hex(b.back, f))"
            }
            return Disagreement(index: index, kind: .written(fields), detail: "\(op.name) \(text(a.result)) wrote "
                                + names.joined(separator: ", ") + " (\(labels.0) vs \(labels.1))")
        }
        let buffers = a.buffers.indices.filter { $0 < b.buffers.count && a.buffers[$0] != b.buffers[$0] }
        if !buffers.isEmpty {
            return Disagreement(index: index, kind: .buffers(buffers), detail: "\(op.name) \(text(a.result)) left "
                                + "user buffer \(buffers.map { "#\($0 + 1)" }.joined(separator: ", ")) different")
        }
        return nil
    }

    /// Fields whose bytes differ after the call. A field each side sent its
    /// own value in (a descriptor, a user address: `Explained.perSideValues`)
    /// must be left as sent on both or changed on both; output descriptors are
    /// each backend's own (`Explained.descriptorNumbers`).
    func differingFields(_ a: SideOutcome, _ b: SideOutcome) -> [Int] {
        guard let ab = a.back, let bb = b.back, ab != bb else { return [] }
        var out: [Int] = []
        // A union member's output descriptor (create_access.out_access_fd) lies under another field's name.
        let which = CompiledCall.load(ab, at: 4, width: 4)
        let unionFds = op.unionFds.filter { $0.op == which }.map(\.offset)
        for (i, f) in op.fields.enumerated() where f.kind != .outputFd {
            guard !unionFds.contains(where: { $0 < f.offset + f.size && f.offset < $0 + 4 }) else { continue }
            let end = min(f.offset + f.size, ab.count, bb.count)
            guard f.offset < end else { continue }
            let r = f.offset..<end
            if let sa = a.sent, let sb = b.sent, sa[r] != sb[r] {
                if (ab[r] == sa[r]) != (bb[r] == sb[r]) { out.append(i) }
            } else if ab[r] != bb[r] {
                out.append(i)
            }
        }
        if out.isEmpty && ab.count != bb.count, let last = op.fields.indices.last { out.append(last) }
        return out
    }

    func hex(_ bytes: [UInt8]?, _ f: FuzzField) -> String {
        "0x" + String(CompiledCall.load(bytes ?? [], at: f.offset, width: f.width), radix: 16)
    }

    func text(_ r: SyscallResult) -> String { r.failed ? r.errno.name : "OK(\(r.value))" }
}
