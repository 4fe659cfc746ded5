import Cases

/// What an iommufd offers to mmap (iommufd_viommu_alloc_mmap): the mock's vIOMMU shares two pages whose first
/// word is its in_data. Offsets come from the lowest free range at or above a page (mtree_alloc_range).
final class MmapRegion {
    let offset, length: UInt64
    let owner: UInt32
    let contents: [UInt8]
    init(offset: UInt64, length: UInt64, owner: UInt32, contents: [UInt8]) {
        self.offset = offset; self.length = length; self.owner = owner; self.contents = contents
    }
}

/// A mapping of a region: the owner is busy (destroy is EBUSY) until it is released (munmap).
package final class MmapHold {
    weak var object: SimObject?
    init(_ o: SimObject) { object = o; o.users += 1 }
    package func release() { object?.users -= 1; object = nil }
}

extension SimulatedKernel {
    /// A new region of `length` bytes owned by `owner`; its offset.
    func allocMmap(_ ctx: IommufdContext, owner: UInt32, length: UInt64, contents: [UInt8]) -> UInt64 {
        var at = PAGE
        for r in ctx.mmaps.sorted(by: { $0.offset < $1.offset }) where r.offset < at &+ length {
            at = max(at, r.offset &+ r.length)
        }
        ctx.mmaps.append(MmapRegion(offset: at, length: length, owner: owner, contents: contents))
        return at
    }

    /// mmap(2) of an iommufd (iommufd_fops_mmap): shared, not executable, exactly one region; its bytes
    /// and the hold that keeps its owner busy, or the errno.
    package func mmapRegion(_ fd: Int32, offset: UInt64, length: UInt64, shared: Bool,
                            exec: Bool) -> MmapResult {
        guard case .iommufd(let ctx)? = files[fd] else { return .failed(.ENODEV) }
        if length % PAGE != 0 || !shared { return .failed(.EINVAL) }
        if exec { return .failed(.EPERM) }
        guard let r = ctx.mmaps.first(where: { offset >= $0.offset && offset - $0.offset < $0.length }),
              let owner = ctx.objects[r.owner] else { return .failed(.ENXIO) }
        if offset != r.offset || length != r.length { return .failed(.ENXIO) }
        return .region(r.contents, MmapHold(owner))
    }
}

/// mmapRegion's answer.
package enum MmapResult {
    case region([UInt8], MmapHold)
    case failed(Errno)
}
