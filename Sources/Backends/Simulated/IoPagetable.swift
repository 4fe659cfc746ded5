import Cases

/// IOVA placement and what a paging domain (a paging HWPT) does to its IOAS, as io_pagetable.c has
/// it: fixed and allocated IOVAs (iopt_check_iova, iopt_alloc_iova), the IOVA
/// alignment (iopt->iova_alignment) and, when one is added (iopt_table_add_domain), the mock's
/// aperture reserving the rest, the alignment of every area and the pinning of every area's pages.
/// Most of these rules were disagreements `uapi-conform fuzz` found against the 7.2 kernel.
extension SimulatedKernel {
    /// The mock domain's page (selftest.c MOCK_IO_PAGE_SIZE = PAGE_SIZE / 2).
    static let mockPage: UInt64 = PAGE / 2

    /// The paging domains of `ioas` (nested HWPTs are not in iopt->domains).
    func domains(_ ctx: IommufdContext, _ ioas: IoasObject) -> [HwptObject] {
        ctx.objects.values.compactMap { $0 as? HwptObject }.filter { $0.kind == .hwptPaging && $0.ioasId == ioas.id }
    }

    /// A domain is a device's IOMMU's: a PCI device's (a page) unless only mock devices use it.
    func domainPage(_ ctx: IommufdContext, _ h: HwptObject) -> UInt64 {
        let pci = ctx.objects.values.contains { o in
            guard let d = o as? DeviceObject else { return false }
            return d.attachedHwpt == h.id && d.pci != nil
        }
        return pci || h.hugeMock ? PAGE : SimulatedKernel.mockPage
    }

    /// iopt->iova_alignment: 1 without a domain, else the largest domain page; a page at least
    /// with large pages off (IOMMU_OPTION_HUGE_PAGES 0) or with an access that pins pages (the mock's
    /// NEEDS_PIN_PAGES one, a hardware queue's internal one: iopt_calculate_iova_alignment).
    func ioasAlignment(_ ctx: IommufdContext, _ ioas: IoasObject) -> UInt64 {
        let pinned = ctx.objects.values.contains { o in
            if let a = o as? AccessObject { return a.pins && a.ioasId == ioas.id }
            return (o as? HwQueueObject)?.ioasId == ioas.id
        }
        return domains(ctx, ioas).reduce(ioas.hugePages == 0 || pinned ? PAGE : 1) { max($0, domainPage(ctx, $1)) }
    }

    /// Whether every area of `ioas` is aligned to `align` (iopt_check_iova_alignment; else EADDRINUSE).
    func areasAligned(_ ioas: IoasObject, _ align: UInt64) -> Bool {
        !ioas.mappings.contains { $0.iova % align != 0 || $0.length % align != 0 || $0.addr % PAGE % align != 0 }
    }

    /// iopt_table_add_domain for a new mock domain on `ioas`: the rest of the IOVA space outside
    /// the aperture is reserved (EADDRINUSE when an area or an allowed range lies there), the
    /// areas must suit the new alignment (EADDRINUSE) and their pages are pinned (EINVAL for a
    /// file that cannot be, EFAULT for user memory that is not there).
    func addMockDomain(_ ctx: IommufdContext, _ ioas: IoasObject, huge: Bool = false) -> Errno? {
        func outside(_ s: UInt64, _ last: UInt64) -> Bool {
            huge ? last > MockAperture.hugeLast : s < MockAperture.start || last > MockAperture.last
        }
        if ioas.mappings.contains(where: { outside($0.iova, $0.iova &+ $0.length &- 1) }) { return .EADDRINUSE }
        if ioas.allowed.contains(where: { outside($0.0, $0.1) }) { return .EADDRINUSE }
        if !areasAligned(ioas, max(ioasAlignment(ctx, ioas), SimulatedKernel.mockPage)) { return .EADDRINUSE }
        for m in ioas.mappings.sorted(by: { $0.iova < $1.iova }) where m.unpinnable || !m.userMapped {
            return m.unpinnable ? .EINVAL : .EFAULT  // iopt_fill_domain, area by area
        }
        return nil
    }

    /// Place [iova, iova+length) in an IOAS: fixed or allocated. Returns the iova or an errno.
    /// `writeRefused`: writable pages were asked of read-only ones (COPY), EPERM once the IOVA is found,
    /// before the page offset is checked (iopt_insert_area).
    func place(_ ctx: IommufdContext, _ ioas: IoasObject, fixed: Bool, iova: UInt64,
               length: UInt64, addr: UInt64 = 0, writeRefused: Bool = false) -> Result<UInt64, SimErr> {
        // iopt_alloc_area_pages: the length follows iopt->iova_alignment before any IOVA is looked at.
        if length % ioasAlignment(ctx, ioas) != 0 { return .failure(SimErr(.EINVAL)) }
        func free(_ s: UInt64, _ l: UInt64) -> Bool {
            !ioas.mappings.contains { s <= $0.iova &+ $0.length &- 1 && $0.iova <= l }
        }
        if fixed {
            // iopt_check_iova: the IOVA follows iopt->iova_alignment (1 until a domain maps the
            // IOAS, then the domains' page: Domains.swift), no reserved region, no mapping there.
            let alignment = ioasAlignment(ctx, ioas)
            if iova % alignment != 0 { return .failure(SimErr(.EINVAL)) }
            let (last, o) = iova.addingReportingOverflow(length - 1)
            if o { return .failure(SimErr(.EOVERFLOW)) }
            // A reserved region (outside the aperture) is EINVAL; the allowed list does not apply to a fixed IOVA.
            let ap = aperture(ctx, ioas)
            if iova < ap.0 || last > ap.1 { return .failure(SimErr(.EINVAL)) }
            if ioas.reserved.contains(where: { iova <= $0.1 && $0.0 <= last }) { return .failure(SimErr(.EINVAL)) }
            if !free(iova, last) { return .failure(SimErr(.EEXIST)) }
            if writeRefused { return .failure(SimErr(.EPERM)) }
            // Then iopt_alloc_area: the length and the page offset follow it too.
            if addr % PAGE % alignment != 0 || length % alignment != 0 { return .failure(SimErr(.EINVAL)) }
            return .success(iova)
        }
        // iopt_alloc_iova: aligned to the length's power of two (or the address's
        // alignment if smaller), the address's page offset kept, never below PAGE.
        if length >= ULONG_MAX / 2 { return .failure(SimErr(.EOVERFLOW)) }
        // ... at most 2 MiB (seen on 7.2: a huge length lands at 0x200000).
        var align = min(UInt64(1) << UInt64(64 - (length - 1).leadingZeroBitCount), 1 << 21)
        if length == 1 { align = 1 }
        if addr != 0 { align = min(align, 1 << UInt64(addr.trailingZeroBitCount)) }
        if align < ioasAlignment(ctx, ioas) { return .failure(SimErr(.EINVAL)) }
        guard let at = allocateIova(ctx, ioas, length: length, align: align, offset: addr % PAGE) else {
            return .failure(SimErr(.ENOSPC))
        }
        return writeRefused ? .failure(SimErr(.EPERM)) : .success(at)
    }

    /// `spans` without the inclusive ranges `cut`, in order.
    static func subtract(_ cut: [(UInt64, UInt64)], from spans: [(UInt64, UInt64)]) -> [(UInt64, UInt64)] {
        var out = spans
        for c in cut {
            out = out.flatMap { s -> [(UInt64, UInt64)] in
                guard c.0 <= s.1 && s.0 <= c.1 else { return [s] }
                var parts: [(UInt64, UInt64)] = []
                if c.0 > s.0 { parts.append((s.0, c.0 - 1)) }
                if c.1 < s.1 { parts.append((c.1 + 1, s.1)) }
                return parts
            }
        }
        return out
    }

    /// IOMMU_TEST_OP_ADD_RESERVED (iopt_reserve_iova): no area and no allowed range may be there (EADDRINUSE).
    func addReserved(_ ctx: IommufdContext, ioas id: UInt32, start: UInt64, length: UInt64) -> HandlerResult {
        if length == 0 { return .fail(.EINVAL) }
        let (last, o) = start.addingReportingOverflow(length - 1)
        if o { return .fail(.EOVERFLOW) }
        guard let ioas = ctx.ioas(id) else { return .fail(.ENOENT) }
        if ioas.mappings.contains(where: { start <= $0.iova &+ $0.length &- 1 && $0.iova <= last })
            || ioas.allowed.contains(where: { start <= $0.1 && $0.0 <= last }) { return .fail(.EADDRINUSE) }
        ioas.reserved.append((start, last))
        return .ok(respond: .none)
    }
}
