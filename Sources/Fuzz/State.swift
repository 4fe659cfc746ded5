import Cases

/// An object the sequence created, as both backends reported it.
package struct Tracked: Sendable, Hashable {
    package var id: UInt32
    package var kind: ObjectKind
    /// How later calls name it: the call and field that returned it.
    package var symbol: Symbol
    /// A paging HWPT allocated with IOMMU_HWPT_ALLOC_NEST_PARENT.
    package var nestParent = false
}

/// A mapped IOVA range of an IOAS.
package struct Area: Sendable, Hashable {
    package var ioas: UInt32
    package var iova: UInt64
    package var length: UInt64
    package var symbol: Symbol
}

/// What the generator knows of the kernel's state: only what both backends
/// agreed on (any disagreement ends the sequence), so it is the same on both.
package struct FuzzState: Sendable {
    package var objects: [Tracked] = []
    /// Ids that were alive once and are gone.
    package var gone: [UInt32] = []
    /// Descriptors the sequence got (fault queues, vEVENTQs).
    package var fds: [Symbol] = []
    package var areas: [Area] = []
    package var maxId: UInt32 = 0
    /// Virtual ids given to vDEVICEs.
    package var virtIds: [UInt64] = []
    /// The vfio cdev is bound to this sequence's iommufd.
    package var vfioBound = false

    package init() {}

    package func of(_ kinds: Set<ObjectKind>) -> [Tracked] { objects.filter { kinds.contains($0.kind) } }
    package func kind(of id: UInt32) -> ObjectKind? { objects.first { $0.id == id }?.kind }
    package func has(_ kind: ObjectKind) -> Bool { objects.contains { $0.kind == kind } }
    package var nestParents: [Tracked] { objects.filter(\.nestParent) }

    mutating func add(_ id: UInt32, _ kind: ObjectKind, _ symbol: Symbol, nestParent: Bool = false) {
        guard id != 0, !objects.contains(where: { $0.id == id }) else { return }
        objects.append(Tracked(id: id, kind: kind, symbol: symbol, nestParent: nestParent))
        maxId = max(maxId, id)
        gone.removeAll { $0 == id }
    }

    mutating func remove(_ id: UInt32) {
        guard objects.contains(where: { $0.id == id }) else { return }
        objects.removeAll { $0.id == id }
        areas.removeAll { $0.ioas == id }
        gone.append(id)
    }

    /// Keep the objects a table probe found alive.
    mutating func keep(alive: Set<UInt32>) {
        for o in objects where !alive.contains(o.id) { remove(o.id) }
    }
}
