import Layout

/// `_IO(type, nr)`: every iommufd and vfio request carries no size or
/// direction (contract §1, vfio §1).
package func ioRequest(type: Int, nr: Int) -> UInt64 { UInt64(type & 0xff) << 8 | UInt64(nr & 0xff) }

/// A `Call` resolved against one profile: the request, the bytes with every
/// constant already in place, and the few run-time patches ($refs, buffers).
package struct CompiledCall: Sendable {
    package struct Patch: Sendable {
        package var offset: Int
        package var width: Int
        package var value: FieldValue
        /// For `.ref`: the slot of the name in `RefSlots`.
        package var slot: Int = -1
    }
    package struct Out: Sendable {
        package var offset: Int
        package var width: Int
        package var kind: Call.Output.Kind
        package var name: String?
        package var slot: Int = -1
    }
    package var ioctl: String
    package var request: UInt64
    package var target: CallTarget
    /// nil = NULL argument.
    package var bytes: [UInt8]?
    package var patches: [Patch]
    package var outputs: [Out]
    package var consumes: String?
    package var expect: Outcome
    package var layout: StructLayout
    /// What the call must leave in the struct (or, for a pointer field, in
    /// the buffer of patch `patch`).
    package var written: [Check] = []

    package struct Check: Sendable {
        package var field: String
        package var offset: Int
        package var width: Int
        package var value: Written
        /// For `.bytes`: the index in `patches` of the field's buffer.
        package var patch: Int = -1
    }
    /// A read/write instead of an ioctl, and the slot of its descriptor's name.
    package var fileIO: FileIO?
    package var fdSlot = -1

    /// Little-endian store of the low `width` bytes of `v`.
    @inline(__always)
    package static func store(_ v: UInt64, into bytes: inout [UInt8], at offset: Int, width: Int) {
        var x = v
        for i in 0..<width where offset + i < bytes.count { bytes[offset + i] = UInt8(truncatingIfNeeded: x); x >>= 8 }
    }

    @inline(__always)
    package static func load(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in stride(from: min(width, 8) - 1, through: 0, by: -1) where offset + i < bytes.count {
            v = v << 8 | UInt64(bytes[offset + i])
        }
        return v
    }
}

/// Reference names as small integers, so running a case hashes no strings.
package enum RefSlots {
    package static let names: [String] = SetupStep.referenceNames.sorted()
    static let index: [String: Int] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    package static func slot(_ name: String) -> Int { index[name] ?? -1 }
    package static var count: Int { names.count }
}

package enum Compiler {
    /// What one call may send: the struct, its tail and payload, or the size word.
    package static let maxBytes = 2 * CaseFile.maxBytes + 4096

    /// Resolve `call` against `profile`. Throws InputError for an ioctl the
    /// profile lacks or a field its struct does not have.
    package static func compile(_ call: Call, profile: Profile, context: String) throws -> CompiledCall {
        if let io = call.fileIO {
            guard SetupStep.referenceNames.contains(io.fd) else {
                throw InputError("\(context): unknown reference $\(io.fd)")
            }
            let none = StructLayout(name: "", size: 0, align: 1, fields: [])
            var c = CompiledCall(ioctl: call.ioctl, request: 0, target: call.target, bytes: nil, patches: [],
                                 outputs: [], consumes: nil, expect: call.expect, layout: none)
            c.fileIO = io
            c.fdSlot = RefSlots.slot(io.fd)
            return c
        }
        guard let io = profile.ioctl(call.ioctl) else {
            throw InputError("\(context): ioctl \(call.ioctl) not in profile \(profile.name)")
        }
        guard let ps = profile.structure(io.struct) else {
            throw InputError("\(context): struct \(io.struct) of \(call.ioctl) missing from profile \(profile.name)")
        }
        let layout = ps.lp64.layout(named: ps.name)
        let natural = layout.size + call.payload.count + call.tail.count
        let sizeWord = call.size ?? natural
        // The size word is a __u32, and what a case sends is bounded (a case
        // file is checked on load; this keeps any other caller from a huge allocation).
        guard (0...Int(UInt32.max)).contains(sizeWord), max(natural, sizeWord) <= Compiler.maxBytes else {
            throw InputError("\(context): \(call.ioctl) would send \(max(natural, sizeWord)) bytes with size word "
                             + "\(sizeWord); at most \(Compiler.maxBytes) bytes and a __u32 size word")
        }
        var bytes = [UInt8](repeating: 0, count: max(natural, sizeWord, 4))
        var patches: [CompiledCall.Patch] = []
        CompiledCall.store(UInt64(UInt32(truncatingIfNeeded: sizeWord)), into: &bytes, at: 0, width: 4)
        for (name, value) in call.fields.sorted(by: { $0.key < $1.key }) {
            guard let f = layout.field(name), f.size > 0 else {
                throw InputError("\(context): \(call.ioctl) (\(ps.name)) has no field '\(name)'")
            }
            let width = min(f.size, 8)
            switch value {
            case .int(let v): CompiledCall.store(v, into: &bytes, at: f.offset, width: width)
            case .ref(let r):
                guard SetupStep.referenceNames.contains(r) else {
                    throw InputError("\(context): unknown reference $\(r)")
                }
                patches.append(.init(offset: f.offset, width: width, value: value, slot: RefSlots.slot(r)))
            case .buffer, .bytes, .data: patches.append(.init(offset: f.offset, width: width, value: value))
            }
        }
        let checks = try call.written.sorted { $0.key < $1.key }.map { name, value in
            guard let f = layout.field(name), f.size > 0 else {
                throw InputError("\(context): \(call.ioctl) (\(ps.name)) has no field '\(name)'")
            }
            var c = CompiledCall.Check(field: name, offset: f.offset, width: min(f.size, 8), value: value)
            if case .bytes = value {
                guard let i = patches.firstIndex(where: { $0.offset == f.offset }) else {
                    throw InputError("\(context): written \(name): the call puts no buffer there")
                }
                c.patch = i
            }
            return c
        }
        let st = ps.lp64.size
        for (i, b) in call.payload.enumerated() { bytes[st + i] = b }
        for (o, b) in call.rawBytes where o < bytes.count { bytes[o] = b }
        for (i, b) in call.tail.enumerated() { bytes[st + call.payload.count + i] = b }
        var outs: [CompiledCall.Out] = []
        for o in call.outputs {
            guard let f = layout.field(o.field) else {
                if o.kind == .returnedFd { outs.append(.init(offset: 0, width: 0, kind: o.kind, name: o.name,
                                                             slot: o.name.map(RefSlots.slot) ?? -1)); continue }
                throw InputError("\(context): \(call.ioctl) has no output field '\(o.field)'")
            }
            outs.append(.init(offset: f.offset, width: min(f.size, 8), kind: o.kind, name: o.name,
                              slot: o.name.map(RefSlots.slot) ?? -1))
        }
        return CompiledCall(ioctl: call.ioctl, request: ioRequest(type: io.type, nr: io.nr), target: call.target,
                            bytes: call.nullArg ? nil : bytes, patches: patches, outputs: outs,
                            consumes: call.consumes, expect: call.expect, layout: layout, written: checks)
    }
}
