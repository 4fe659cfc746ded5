import Testing
import Cases

/// User buffers as copies see them: a copy that faults part-way writes what comes before the fault, and a
/// buffer's address never has its low 32 bits 0 (a pointer read through another union member).
@Suite struct UserMemoryTests {
    /// copy_to_user's partial write: the bytes before the end of the buffer's pages land, and the copy fails.
    @Test func aWriteThatFaultsWritesItsPrefix() throws {
        let mem = UserMemory()
        let base = mem.allocate([UInt8](repeating: 0, count: 4096))
        #expect(!mem.write(base + 4090, [UInt8](repeating: 0xab, count: 16)))
        let bytes = try #require(mem.bytes(at: base))
        #expect(Array(bytes[4090...]) == [UInt8](repeating: 0xab, count: 6))
        #expect(mem.write(base + 4080, [UInt8](repeating: 0xcd, count: 16)))
        #expect(!mem.write(base + 8192, [1]))
    }

    /// Every simulated buffer, and every real one whatever mmap gave, starts at a 2 MiB boundary whose low
    /// 32 bits are not 0; a 4 GiB-aligned start moves on by 2 MiB.
    @Test func bufferAddressesNeverHaveZeroLowBits() {
        let mem = UserMemory()
        for _ in 0..<4 { #expect(mem.allocate([1, 2, 3]) & 0xffff_ffff != 0) }
        #expect(UserMemory.base(from: 0x7f00_0000_0000) == 0x7f00_0020_0000)
        #expect(UserMemory.base(from: 0x7eff_ffff_f000) == 0x7f00_0020_0000)
        #expect(UserMemory.base(from: 0x7f00_0000_1000) == 0x7f00_0020_0000)
        #expect(UserMemory.base(from: 0x7f12_3440_0000) == 0x7f12_3440_0000)
    }
}
