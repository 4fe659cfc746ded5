import Cases

/// Makes the calls of a sequence from the profile's layouts: per field a
/// draw by kind (Values), then for most calls the coherent values of the
/// op (Hints), a size choice, rarely a NULL argument. About two calls in
/// five build on what exists (the next link of IOAS → mock device → HWPT →
/// vIOMMU → vDEVICE → queues, or the vfio chain), the rest are anything.
package struct Generator: Sendable {
    package let vocabulary: Vocabulary
    let hints: Hints

    package init(_ vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        hints = Hints(c: vocabulary.consts)
    }

    package func call(serial: Int, state: FuzzState, rng: inout FuzzRandom) -> FuzzCall {
        let constructive = rng.chance(40)
        let index = constructive ? (next(state, &rng) ?? rng.below(vocabulary.ops.count))
            : rng.below(vocabulary.ops.count)
        let op = vocabulary.ops[index]
        let valid = constructive ? 95 : 55
        var b = CallBuilder(op)
        for (i, f) in op.fields.enumerated() where f.kind != .sizeWord {
            b.put(i, Values.draw(f, valid: rng.chance(valid), state, &rng))
        }
        if rng.chance(constructive ? 97 : 60) { hints.apply(vocabulary.roles[index], &b, state, &rng) }
        if case .map(_, _, _, _, let file?) = vocabulary.roles[index] { breakFileCycle(&b, file.fd, &rng) }
        size(&b, valid: constructive || rng.chance(70), &rng)
        return b.call(serial: serial, op: index, null: rng.chance(1))
    }

    /// `Explained.fileCycle`: MAP_FILE never gets a descriptor that holds the iommufd (the iommufd
    /// itself, or a queue or access a call returned) but one nobody opened.
    func breakFileCycle(_ b: inout CallBuilder, _ fd: Int, _ rng: inout FuzzRandom) {
        guard let p = b.patches.first(where: { $0.field == fd }) else { return }
        switch p.symbol {
        case .iommufd, .fd: b.set(fd, Values.unopenedFd(&rng))
        case .output, .buffer: return
        }
    }

    /// The size word: mostly sizeof; else 0, just the word, around the
    /// minimum, between, or past sizeof with a zero or non-zero tail.
    func size(_ b: inout CallBuilder, valid: Bool, _ rng: inout FuzzRandom) {
        let op = b.op
        var s = op.size
        if !valid {
            switch rng.below(8) {
            case 0: s = 0
            case 1: s = 4
            case 2: s = max(op.minSize - 1, 0)
            case 3: s = op.minSize
            case 4: s = op.minSize + rng.below(max(op.size - op.minSize, 0) + 1)
            default: s = op.size + 1 + rng.below(32)
            }
        }
        if s > op.size {
            b.bytes += [UInt8](repeating: 0, count: s - op.size)
            if rng.chance(50) { b.bytes[op.size + rng.below(s - op.size)] = UInt8(1 + rng.below(255)) }
        }
        b.store(UInt64(s), at: 0, width: 4)
    }

    /// A constructive op: weighted toward the missing links of the chain.
    func next(_ s: FuzzState, _ rng: inout FuzzRandom) -> Int? {
        var weights = [Int](repeating: 0, count: vocabulary.ops.count)
        for (i, role) in vocabulary.roles.enumerated() { weights[i] = weight(role, s) }
        let total = weights.reduce(0, +)
        guard total > 0 else { return nil }
        var r = rng.below(total)
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return nil
    }

    func weight(_ role: OpRole, _ s: FuzzState) -> Int {
        let ioas = s.has(.ioas), device = s.has(.device), viommu = s.has(.viommu)
        switch role {
        case .ioasAlloc: return s.of([.ioas]).count < 2 ? 12 : 2
        case .map: return ioas ? (s.areas.isEmpty ? 10 : 4) : 0
        case .testCommand: return ioas ? (device ? 3 : 12) : 0
        case .hwptAlloc: return device ? (s.nestParents.isEmpty ? 10 : 4) : 0
        case .viommuAlloc: return device && !s.nestParents.isEmpty ? (viommu ? 3 : 10) : 0
        case .vdeviceAlloc: return viommu && device ? (s.has(.vdevice) ? 3 : 10) : 0
        case .veventqAlloc, .hwQueueAlloc: return viommu ? 4 : 0
        case .faultAlloc: return s.has(.fault) ? 1 : 4
        case .destroy: return s.objects.isEmpty ? 0 : 4
        case .vfioBind: return vocabulary.vfio && !s.vfioBound ? 14 : 0
        case .vfioAttach: return s.vfioBound ? 6 : 0
        case .tsm: return s.has(.vdevice) ? 6 : 0
        case .copy, .unmap, .dirtyBitmap: return s.areas.isEmpty ? 0 : 3
        case .invalidate: return s.has(.hwptNested) || viommu ? 3 : 0
        case .iovaList, .option, .vfioIoas, .hwInfo, .dirtyTracking: return ioas ? 2 : 0
        case .other: return 1
        }
    }
}
