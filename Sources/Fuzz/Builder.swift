import Cases

/// Builds one call's bytes and symbols field by field.
struct CallBuilder {
    let op: FuzzOp
    var bytes: [UInt8]
    var patches: [SymbolPatch] = []

    init(_ op: FuzzOp) {
        self.op = op
        bytes = [UInt8](repeating: 0, count: op.size)
    }

    mutating func put(_ field: Int, _ d: Draw) {
        switch d {
        case .int(let v): set(field, v)
        case .symbol(let s): set(field, s)
        }
    }

    mutating func set(_ field: Int?, _ v: UInt64) {
        guard let field else { return }
        patches.removeAll { $0.field == field }
        let f = op.fields[field]
        CompiledCall.store(v, into: &bytes, at: f.offset, width: f.width)
    }

    mutating func set(_ field: Int?, _ s: Symbol) {
        guard let field else { return }
        set(field, 0)
        patches.append(SymbolPatch(field: field, symbol: s))
    }

    /// The largest buffer a call gets (lengths drawn from state may be anything).
    static let maxBuffer = 1 << 16

    /// A buffer of `size` bytes (at most `maxBuffer`) starting with `bytes` for pointer `field`.
    mutating func buffer(_ field: Int?, _ bytes: [UInt8], size: Int? = nil, offset: Int = 0) {
        let n = min(max(size ?? bytes.count, bytes.count), CallBuilder.maxBuffer)
        set(field, .buffer(UserBytes(bytes: Array(bytes.prefix(n)), size: n, offset: min(offset, n))))
    }

    /// Bytes at an offset no field of the op names (a union member of the selftest command).
    mutating func store(_ v: UInt64, at offset: Int, width: Int) {
        CompiledCall.store(v, into: &bytes, at: offset, width: width)
    }

    /// The value the field holds: a literal, or an output symbol's literal.
    func value(_ field: Int?) -> UInt64 {
        guard let field else { return 0 }
        if let p = patches.first(where: { $0.field == field }) {
            if case .output(_, _, let literal) = p.symbol { return literal }
            return 0
        }
        let f = op.fields[field]
        return CompiledCall.load(bytes, at: f.offset, width: f.width)
    }

    func call(serial: Int, op index: Int, null: Bool) -> FuzzCall {
        FuzzCall(serial: serial, op: index, bytes: bytes, null: null, patches: patches)
    }
}

/// Little-endian bytes of `v`, `width` of them.
func le(_ v: UInt64, _ width: Int) -> [UInt8] {
    (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
}
