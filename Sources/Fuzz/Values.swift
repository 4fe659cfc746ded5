import Cases

/// A value drawn for a field: a literal, or a symbol each backend resolves.
package enum Draw: Sendable {
    case int(UInt64)
    case symbol(Symbol)
}

/// Per field kind a mix of valid values, boundary values and random ones.
/// `valid` asks for a value the kernel should take; otherwise anything goes.
struct Values {
    static let page: UInt64 = 4096
    /// The selftest mock's aperture (iommufd_test.h MOCK_APERTURE_START/LAST).
    static let apertureStart: UInt64 = 1 << 24
    static let apertureLast: UInt64 = (1 << 31) - 1
    static let boundaries: [UInt64] = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff_ffff, 0x8000_0000,
                                       0xffff_fffe, 0xffff_ffff, 0x1_0000_0000, 0x7fff_ffff_ffff_ffff,
                                       0x8000_0000_0000_0000, 0xffff_ffff_ffff_fffe, 0xffff_ffff_ffff_ffff]

    /// All ones of a field `width` bytes wide.
    static func ones(_ width: Int) -> UInt64 { width >= 8 ? .max : (1 << UInt64(8 * width)) - 1 }

    static func boundary(_ width: Int, _ rng: inout FuzzRandom) -> UInt64 {
        (rng.pick(boundaries) ?? 0) & ones(width)
    }

    static func random(_ width: Int, _ rng: inout FuzzRandom) -> UInt64 {
        switch rng.below(4) {
        case 0: return UInt64(rng.below(17))
        case 1: return boundary(width, &rng)
        case 2: return 1 << UInt64(rng.below(8 * min(width, 8)))
        default: return rng.next() & ones(width)
        }
    }

    static func draw(_ f: FuzzField, valid: Bool, _ state: FuzzState, _ rng: inout FuzzRandom) -> Draw {
        switch f.kind {
        case .sizeWord: return .int(0)  // set with the size choice
        case .flags(let mask, let bits): return .int(flags(mask, bits, f.width, valid: valid, &rng))
        case .reserved: return .int(valid ? 0 : reserved(f.width, &rng))
        case .enumeration(let values):
            if valid, let v = rng.pick(values) { return .int(v) }
            return .int(rng.chance(50) ? (values.filter { $0 < 0x10000 }.max() ?? 0) &+ 1 : random(f.width, &rng))
        case .testOp(let ops):
            if valid, let v = rng.pick(ops) { return .int(v) }
            return .int(rng.pick([0, 0x1000 + UInt64(rng.below(0x1000)), 0x8000_0000, 0xffff_ffff]) ?? 0)
        case .objectId(let kinds): return object(kinds, valid: valid, state, &rng)
        case .fd: return fd(valid: valid, state, &rng)
        case .pointer: return valid ? .symbol(.buffer(UserBytes(bytes: [], size: 64, offset: 0))) : pointer(&rng)
        case .length: return .int(valid ? length(&rng) : random(f.width, &rng))
        case .iova: return .int(valid ? iova(state, &rng) : random(f.width, &rng) & ~0xff)
        case .outputId, .outputFd, .output: return .int(valid || rng.chance(80) ? 0 : random(f.width, &rng))
        case .plain: return .int(valid ? UInt64(rng.below(4)) : random(f.width, &rng))
        }
    }

    static func flags(_ mask: UInt64, _ bits: [UInt64], _ width: Int, valid: Bool, _ rng: inout FuzzRandom) -> UInt64 {
        if valid {
            var v: UInt64 = 0
            for b in bits where rng.chance(35) { v |= b }
            return v & mask
        }
        let undefined = ones(min(width, 4)) & ~mask
        switch rng.below(4) {
        case 0 where undefined != 0:
            var bit: UInt64 = 1 << UInt64(rng.below(32))
            while bit & undefined == 0 { bit = bit == 1 << 31 ? 1 : bit << 1 }
            return bit | (rng.next() & mask)
        case 1: return ones(min(width, 4))
        default: return rng.next() & ones(min(width, 4))
        }
    }

    static func reserved(_ width: Int, _ rng: inout FuzzRandom) -> UInt64 {
        switch rng.below(3) {
        case 0: return 1
        case 1: return 1 << UInt64(8 * min(width, 8) - 1)
        default: return max(rng.next() & ones(width), 1)
        }
    }

    static func object(_ kinds: Set<ObjectKind>, valid: Bool, _ state: FuzzState, _ rng: inout FuzzRandom) -> Draw {
        if valid || rng.chance(40), let o = rng.pick(state.of(kinds)) { return .symbol(o.symbol) }
        switch rng.below(5) {
        case 0: if let o = rng.pick(state.objects.filter { !kinds.contains($0.kind) }) { return .symbol(o.symbol) }
        case 1: if let g = rng.pick(state.gone) { return .int(UInt64(g)) }
        case 2: return .int(UInt64(state.maxId) + 1)
        case 3: return .int(rng.pick([0, 0x7fff_fff0, 0xffff_ffff, 0x8000_0000]) ?? 0)
        default: break
        }
        return .int(UInt64(rng.below(Int(state.maxId) + 3)))
    }

    /// Descriptors: the iommufd, one the sequence got, -1, or one nobody opened.
    static func fd(valid: Bool, _ state: FuzzState, _ rng: inout FuzzRandom) -> Draw {
        if valid || rng.chance(30) { return .symbol(.iommufd) }
        if rng.chance(40), let f = rng.pick(state.fds) { return .symbol(f) }
        return .int(unopenedFd(&rng))
    }

    /// A descriptor no process has open: -1 as a u32, or one of 1000...1099.
    static func unopenedFd(_ rng: inout FuzzRandom) -> UInt64 {
        rng.chance(50) ? 0xffff_ffff : 1000 + UInt64(rng.below(100))
    }

    /// Addresses nothing is mapped at: NULL, the first pages, the kernel half, non-canonical.
    static let unmapped: [UInt64] = [0, 0x1000, 0xffff_8880_0000_0000, 0x8000_0000_0000_0000, 0xffff_ffff_ffff_f000]

    static func pointer(_ rng: inout FuzzRandom) -> Draw {
        if rng.chance(50), let a = rng.pick(unmapped) { return .int(a) }
        let size = rng.pick([0, 1, 8, 16, 64, 4096]) ?? 0
        let offset = rng.chance(30) ? rng.below(size + 1) : 0
        return .symbol(.buffer(UserBytes(bytes: [], size: size, offset: offset)))
    }

    static func length(_ rng: inout FuzzRandom) -> UInt64 {
        switch rng.below(4) {
        case 0: return page * UInt64(1 + rng.below(16))
        case 1: return UInt64(1 + rng.below(8))
        case 2: return page
        default: return UInt64(rng.below(64))
        }
    }

    /// Inside the mock's aperture, page aligned, or an area already mapped.
    static func iova(_ state: FuzzState, _ rng: inout FuzzRandom) -> UInt64 {
        if rng.chance(40), let a = rng.pick(state.areas) { return a.iova }
        return apertureStart + page * UInt64(rng.below(64))
    }
}
