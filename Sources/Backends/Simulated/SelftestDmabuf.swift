import Cases
import Layout

/// The mock's own dma-buf exporter (selftest.c): DMABUF_GET makes one of `length` bytes and answers its
/// descriptor, DMABUF_REVOKE revokes it or gives it back; IOAS_MAP_FILE of a revoked one is ENODEV.
struct MockDmabufFields {
    let get, revoke: UInt64
    let length, openFlags, fd, revoked: FieldHandle
    /// The most the mock exports: 512 pages.
    static let maxLength = 512 * PAGE
    /// O_CLOEXEC among dma_buf_fd's open flags.
    static let cloexec: UInt64 = 0o2000000
    init?(_ r: FieldResolver) throws {
        guard r.profile.enums["IOMMU_TEST_OP_DMABUF_GET"] != nil else { return nil }
        get = try r.constant("IOMMU_TEST_OP_DMABUF_GET"); revoke = try r.constant("IOMMU_TEST_OP_DMABUF_REVOKE")
        length = try r("dmabuf_get.length"); openFlags = try r("dmabuf_get.open_flags")
        fd = try r("dmabuf_revoke.dmabuf_fd"); revoked = try r("dmabuf_revoke.revoked")
    }
}

extension SimulatedKernel {
    /// The ops of `MockDmabufFields`; nil for another op.
    func mockDmabufOp(_ f: MockDmabufFields, op: UInt64, _ c: inout Cmd) -> HandlerResult? {
        if op == f.get {
            let length = (c[f.length] + PAGE - 1) / PAGE * PAGE
            if length == 0 || length > MockDmabufFields.maxLength { return .fail(.EINVAL) }
            installCloexec = c[f.openFlags] & MockDmabufFields.cloexec != 0
            defer { installCloexec = true }
            let fd = install(.dmabuf(DmabufFile(length: length, selftest: true)))
            return fd < 0 ? .fail(.EMFILE) : .ok(Int(fd), respond: .none)
        }
        guard op == f.revoke else { return nil }
        let fd = Int32(truncatingIfNeeded: c[f.fd])
        guard let file = files[fd] else { return .fail(foreignFile(fd) == nil ? .EBADF : .EINVAL) }
        guard case .dmabuf(let d) = file else { return .fail(.EINVAL) }  // dma_buf_get of another file
        if !d.selftest { return .fail(.EOPNOTSUPP) }
        d.revoked = c[f.revoked] != 0
        return .ok(respond: .none)
    }
}
