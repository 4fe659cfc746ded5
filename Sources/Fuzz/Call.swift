import Cases

/// A value each backend fills in for itself when the call runs.
package enum Symbol: Sendable, Hashable {
    /// The sequence's /dev/iommu descriptor.
    case iommufd
    /// What call `call` (a serial) left in field `field`: an object id or an
    /// IOVA, the same on both backends while they agree; `literal` when that
    /// call is not part of the run (a shortened sequence).
    case output(call: Int, field: Int, literal: UInt64)
    /// The descriptor call `call` returned in field `field`: each backend's own.
    case fd(call: Int, field: Int)
    /// A user buffer of the call; the field gets the address of its byte `offset`.
    case buffer(UserBytes)
}

package struct SymbolPatch: Sendable, Hashable {
    /// Index into the op's fields.
    package var field: Int
    package var symbol: Symbol
}

/// One generated ioctl: the struct bytes with every literal in place, and
/// the fields each backend resolves itself.
package struct FuzzCall: Sendable {
    /// The call's position in the sequence it was generated in; symbols name calls by it.
    package let serial: Int
    /// Index into the engine's ops.
    package let op: Int
    /// What is sent (size word, fields, tail); patched fields hold 0 here.
    package var bytes: [UInt8]
    /// Pass NULL instead of the struct.
    package var null: Bool
    package var patches: [SymbolPatch]

    /// The size word (argsz for vfio).
    package var sizeWord: UInt32 { UInt32(truncatingIfNeeded: CompiledCall.load(bytes, at: 0, width: 4)) }

    package func patch(for field: Int) -> Symbol? { patches.first { $0.field == field }?.symbol }
}

/// A whole sequence: what the generator made, replayable on its own.
package struct FuzzSequence: Sendable {
    /// Sequence `index` of the run with seed `seed`.
    package var seed: UInt64
    package var index: Int
    /// The vfio cdev is opened before the first call (vfio ops in the vocabulary).
    package var opensVfio: Bool
    package var calls: [FuzzCall]
}
