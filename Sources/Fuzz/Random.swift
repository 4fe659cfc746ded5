/// The fuzzer's own seeded generator (xoshiro256**, seeded through
/// SplitMix64), so a seed gives the same calls on every machine and Swift
/// version: the standard library's generator promises neither.
package struct FuzzRandom: Sendable {
    private var s0, s1, s2, s3: UInt64

    package init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9e37_79b9_7f4a_7c15
            var z = x
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always)
    package mutating func next() -> UInt64 {
        let result = FuzzRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = FuzzRandom.rotl(s3, 45)
        return result
    }

    /// Uniform in 0..<n (n > 0; 0 gives 0).
    @inline(__always)
    package mutating func below(_ n: Int) -> Int {
        guard n > 1 else { return 0 }
        return Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// True with probability `percent`/100.
    @inline(__always)
    package mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    package mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[below(items.count)] }

    /// A seed for sequence `index` of a run seeded with `seed`: sequences
    /// are reproducible on their own.
    package static func sequenceSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
        var r = FuzzRandom(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0x2545_f491_4f6c_dd1d))
        return r.next()
    }
}
