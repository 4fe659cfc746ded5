import Cases
import Layout

/// The selftest mock's in-kernel access to an IOAS (selftest.c's
/// selftest_access): an iommufd object held by an anonymous file, with the
/// page ranges it has pinned.
final class AccessObject: SimObject {
    weak var ctx: IommufdContext?
    var ioasId: UInt32
    /// MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES: ACCESS_PAGES works only then.
    let pins: Bool
    var items: [UInt32: (iova: UInt64, length: UInt64)] = [:]
    var nextItem: UInt32 = 0
    init(id: UInt32, ctx: IommufdContext, ioasId: UInt32, pins: Bool) {
        self.ctx = ctx; self.ioasId = ioasId; self.pins = pins
        super.init(id: id, kind: .access)
    }
}

/// The access ops' fields (union members of iommu_test_cmd, by their dotted
/// names in the profile) and the mock's flag values (iommufd_test.h).
struct AccessFields {
    let createFlags, outAccessFd, replaceIoasId, itemId: FieldHandle
    let pagesFlags, outPagesId, pagesIova, pagesLength, pagesUptr: FieldHandle
    let rwIova, rwLength, rwUptr, rwFlags: FieldHandle
    let create, destroyPages, pages, rw, replace: UInt64
    /// MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES; MOCK_FLAGS_ACCESS_WRITE | _SYZ;
    /// MOCK_ACCESS_RW_WRITE | _SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ.
    static let needsPin: UInt64 = 1, pagesWrite: UInt64 = 1, syz: UInt64 = 1 << 16
    static let rwWrite: UInt64 = 1, rwSlowPath: UInt64 = 1 << 2
    /// The mock refuses larger lengths before allocating (no WARN in kvzalloc).
    static let maxLength: UInt64 = 16 * 1024 * 1024

    init(_ r: FieldResolver) throws {
        createFlags = try r("create_access.flags"); outAccessFd = try r("create_access.out_access_fd")
        replaceIoasId = try r("access_replace_ioas.ioas_id"); itemId = try r("destroy_access_pages.access_pages_id")
        pagesFlags = try r("access_pages.flags"); outPagesId = try r("access_pages.out_access_pages_id")
        pagesIova = try r("access_pages.iova"); pagesLength = try r("access_pages.length")
        pagesUptr = try r("access_pages.uptr")
        rwIova = try r("access_rw.iova"); rwLength = try r("access_rw.length"); rwUptr = try r("access_rw.uptr")
        rwFlags = try r("access_rw.flags")
        create = try r.constant("IOMMU_TEST_OP_CREATE_ACCESS")
        destroyPages = try r.constant("IOMMU_TEST_OP_DESTROY_ACCESS_PAGES")
        pages = try r.constant("IOMMU_TEST_OP_ACCESS_PAGES"); rw = try r.constant("IOMMU_TEST_OP_ACCESS_RW")
        replace = try r.constant("IOMMU_TEST_OP_ACCESS_REPLACE_IOAS")
    }
}

extension SimulatedKernel {
    /// The access ops of IOMMU_TEST_CMD; nil for another op.
    func accessOp(_ f: AccessFields, op: UInt64, id: UInt32, _ ctx: IommufdContext, _ c: inout Cmd,
                  _ mem: UserMemory) -> HandlerResult? {
        switch op {
        case f.create: return createAccess(f, ioasId: id, ctx, &c)
        case f.rw: return accessRw(f, fd: id, &c, mem)
        case f.pages: return accessPages(f, fd: id, &c, mem)
        case f.destroyPages:
            guard let a = accessFile(id) else { return .fail(.EBADFD) }
            return a.items.removeValue(forKey: c.u32(f.itemId)) == nil ? .fail(.ENOENT) : .ok(respond: .none)
        case f.replace:
            guard let a = accessFile(id), let actx = a.ctx else { return .fail(.EBADFD) }
            guard let new = actx.ioas(c.u32(f.replaceIoasId)) else { return .fail(.ENOENT) }
            if new.id != a.ioasId {
                a.items.removeAll()  // the mock's unmap callback unpins everything first
                if let old = actx.ioas(a.ioasId) { old.users -= 1 }
                a.holds.removeAll()
                hold(a, new)
                a.ioasId = new.id
            }
            return .ok(respond: .none)
        default: return nil
        }
    }

    func accessFile(_ fd: UInt32) -> AccessObject? {
        if case .access(let a)? = files[Int32(bitPattern: fd)] { return a }
        return nil
    }

    func createAccess(_ f: AccessFields, ioasId: UInt32, _ ctx: IommufdContext, _ c: inout Cmd) -> HandlerResult {
        let flags = c[f.createFlags]
        if flags & ~AccessFields.needsPin != 0 { return .fail(.EOPNOTSUPP) }
        guard let ioas = ctx.ioas(ioasId) else { return .fail(.ENOENT) }
        let a = newObject(ctx) { AccessObject(id: $0, ctx: ctx, ioasId: ioas.id, pins: flags != 0) }
        hold(a, ioas)
        a.users += 1  // iommufd_access_create: the mock is a user until its file goes (destroy EBUSY)
        c[f.outAccessFd] = UInt64(install(.access(a)))
        return .ok()
    }

    /// Release of the access file: unpin, detach from the IOAS, destroy.
    func closeAccess(_ a: AccessObject) {
        guard let ctx = a.ctx, !ctx.closed else { return }
        a.items.removeAll()
        remove(ctx, a)  // releases its IOAS
    }

    /// The pages [iova, iova+length) of the access's IOAS, all mapped by
    /// contiguous areas that allow the access (EPERM), a pin starting on a
    /// page of its area (EINVAL) (iommufd_access_rw / _pin_pages).
    func accessRange(_ a: AccessObject, iova: UInt64, length: UInt64, write: Bool, pin: Bool) -> Errno? {
        if length == 0 { return .EINVAL }
        if iova.addingReportingOverflow(length - 1).overflow { return .EOVERFLOW }
        guard let ioas = a.ctx?.ioas(a.ioasId) else { return .ENOENT }
        return pinRange(ioas, iova: iova, length: length, write: write, pin: pin)
    }

    /// The area walk of iommufd_access_rw / _pin_pages over `ioas` (also the HW queue's internal access);
    /// callers have refused an empty or wrapping range.
    func pinRange(_ ioas: IoasObject, iova: UInt64, length: UInt64, write: Bool, pin: Bool) -> Errno? {
        let last = iova &+ (length &- 1)
        var cursor = iova
        let maps = ioas.mappings.sorted { $0.iova < $1.iova }
        for m in maps where m.iova <= cursor && cursor <= m.iova &+ m.length &- 1 {
            if pin && (cursor - m.iova) % Fixed.page != 0 { return .EINVAL }
            if write ? !m.writable : !m.readable { return .EPERM }
            if m.iova &+ m.length &- 1 >= last { return nil }
            cursor = m.iova &+ m.length
        }
        return .ENOENT
    }

    func accessRw(_ f: AccessFields, fd: UInt32, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let length = c[f.rwLength], flags = c[f.rwFlags], uptr = c[f.rwUptr]
        if length > AccessFields.maxLength { return .fail(.ENOMEM) }
        if flags & ~(AccessFields.rwWrite | AccessFields.rwSlowPath | AccessFields.syz) != 0 {
            return .fail(.EOPNOTSUPP)
        }
        guard let a = accessFile(fd) else { return .fail(.EBADFD) }
        let write = flags & AccessFields.rwWrite != 0
        let data = write ? mem.read(uptr, Int(length)) : nil
        if write && data == nil { return .fail(.EFAULT) }
        let iova = c[f.rwIova]
        if let e = accessRange(a, iova: iova, length: length, write: write, pin: false) { return .fail(e) }
        guard let ioas = a.ctx?.ioas(a.ioasId) else { return .fail(.ENOENT) }
        if let data { return ioasWrite(ioas, iova, data, mem).map { .fail($0) } ?? .ok(respond: .none) }
        guard let got = ioasRead(ioas, iova, Int(length), mem) else { return .fail(.EFAULT) }
        return mem.write(uptr, got) ? .ok(respond: .none) : .fail(.EFAULT)
    }

    /// The user address behind `iova` in `ioas`: nil where no area maps it or a file backs it.
    func userAddress(_ ioas: IoasObject, _ iova: UInt64) -> UInt64? {
        guard let m = ioas.mapping(at: iova), !m.file else { return nil }
        return m.addr &+ (iova - m.iova)
    }

    /// The bytes at [iova, iova+count) through the areas' user memory; a file's pages read as zeros, user memory
    /// that is not there is nil (EFAULT: its pages cannot be pinned).
    func ioasRead(_ ioas: IoasObject, _ iova: UInt64, _ count: Int, _ mem: UserMemory) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let at = iova &+ UInt64(out.count)
            let n = min(count - out.count, Int(PAGE - at % PAGE))
            if let u = userAddress(ioas, at) {
                guard let b = mem.read(u, n) else { return nil }
                out += b
            } else {
                out += repeatElement(0, count: n)
            }
        }
        return out
    }

    /// Write `data` at `iova` through the areas' user memory (a file's pages take nothing).
    func ioasWrite(_ ioas: IoasObject, _ iova: UInt64, _ data: [UInt8], _ mem: UserMemory) -> Errno? {
        var done = 0
        while done < data.count {
            let at = iova &+ UInt64(done)
            let n = min(data.count - done, Int(PAGE - at % PAGE))
            if let u = userAddress(ioas, at), !mem.write(u, Array(data[done..<done + n])) { return .EFAULT }
            done += n
        }
        return nil
    }

    func accessPages(_ f: AccessFields, fd: UInt32, _ c: inout Cmd, _ mem: UserMemory) -> HandlerResult {
        let length = c[f.pagesLength], flags = c[f.pagesFlags], iova = c[f.pagesIova]
        if length > AccessFields.maxLength { return .fail(.ENOMEM) }
        if flags & ~(AccessFields.pagesWrite | AccessFields.syz) != 0 { return .fail(.EOPNOTSUPP) }
        guard let a = accessFile(fd) else { return .fail(.EBADFD) }
        guard a.pins else { return .fail(.EOPNOTSUPP) }
        let write = flags & AccessFields.pagesWrite != 0
        if let e = accessRange(a, iova: iova, length: length, write: write, pin: true) { return .fail(e) }
        // A NULL uptr skips the mock's check that the pinned pages are the user's at uptr, page by page
        // from uptr's page (iommufd_test_check_pages): other pages are EBADE, no page there EFAULT.
        let uptr = c[f.pagesUptr]
        if uptr != 0, let ioas = a.ctx?.ioas(a.ioasId) {
            let first = iova / PAGE * PAGE, pages = ((iova &+ length &+ PAGE - 1) / PAGE * PAGE - first) / PAGE
            let user = uptr &- (iova - first), maps = currentMappings()
            for i in 0..<pages {
                let u = user &+ i * PAGE
                if !mem.owns(u / PAGE * PAGE, PAGE) { return .fail(.EFAULT) }
                if identity(ofIova: first + i * PAGE, in: ioas, maps) != identity(ofUser: u, maps) {
                    return .fail(.EBADE)
                }
            }
        }
        let id = a.nextItem
        a.nextItem += 1
        a.items[id] = (iova, length)
        c[f.outPagesId] = UInt64(id)
        return .ok()
    }
}
