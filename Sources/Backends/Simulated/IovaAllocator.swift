/// iopt_alloc_iova's search, step for step: it matters where an IOVA lands, as later calls name it.
extension SimulatedKernel {
    /// The first fit of `length` bytes: in each allowed span (all of [PAGE, ULONG_MAX - PAGE] when none is
    /// set), whose start is aligned and given the page offset first, then hole by hole between the used
    /// ranges (areas, reserved regions, outside the domains' aperture), each hole's start aligned the same way.
    func allocateIova(_ ctx: IommufdContext, _ ioas: IoasObject, length: UInt64, align: UInt64,
                      offset: UInt64) -> UInt64? {
        let used = usedRanges(ctx, ioas)
        for span in allowedForAllocation(ioas) {
            guard var s = fit(span.0, span.1, length: length, align: align, offset: offset) else { continue }
            while s <= span.1 {
                if let u = used.first(where: { $0.0 <= s && s <= $0.1 }) {
                    if u.1 >= span.1 { break }
                    s = u.1 + 1
                    continue
                }
                let next = used.first { $0.0 > s }
                let holeLast = min(span.1, next.map { $0.0 - 1 } ?? span.1)
                if let at = fit(s, holeLast, length: length, align: align, offset: offset) { return at }
                guard let next, next.0 <= span.1 else { break }
                s = next.0
            }
        }
        return nil
    }

    /// __alloc_iova_check_range: `start` aligned up, the page offset ORed in, and the result fitting before `last`.
    func fit(_ start: UInt64, _ last: UInt64, length: UInt64, align: UInt64, offset: UInt64) -> UInt64? {
        let (up, over) = start.addingReportingOverflow(align - 1)
        if over { return nil }
        let at = up & ~(align - 1) | offset
        guard at < last, last - at >= length - 1 else { return nil }
        return at
    }

    /// The allowed ranges as the allocator walks them (interval_tree_for_each_span): within
    /// [PAGE, ULONG_MAX - PAGE], ranges that touch as one span.
    func allowedForAllocation(_ ioas: IoasObject) -> [(UInt64, UInt64)] {
        let lo = PAGE, hi = ULONG_MAX - PAGE
        if ioas.allowed.isEmpty { return [(lo, hi)] }
        return SimulatedKernel.merged(ioas.allowed.compactMap { r in
            let s = max(r.0, lo), l = min(r.1, hi)
            return s <= l ? (s, l) : nil
        })
    }

    /// Areas, reserved regions and what lies outside the domains' aperture, sorted and merged.
    func usedRanges(_ ctx: IommufdContext, _ ioas: IoasObject) -> [(UInt64, UInt64)] {
        var all = ioas.mappings.map { ($0.iova, $0.iova &+ $0.length &- 1) } + ioas.reserved
        let ap = aperture(ctx, ioas)
        if ap.0 > 0 { all.append((0, ap.0 - 1)) }
        if ap.1 < ULONG_MAX { all.append((ap.1 + 1, ULONG_MAX)) }
        return SimulatedKernel.merged(all)
    }

    /// Inclusive ranges sorted, those that overlap or touch as one.
    static func merged(_ ranges: [(UInt64, UInt64)]) -> [(UInt64, UInt64)] {
        var out: [(UInt64, UInt64)] = []
        for r in ranges.sorted(by: { $0.0 < $1.0 }) {
            if let last = out.last, last.1 == ULONG_MAX || last.1 + 1 >= r.0 {
                out[out.count - 1].1 = max(last.1, r.1)
            } else {
                out.append(r)
            }
        }
        return out
    }
}
