import Foundation

/// The probe through gcc (`-S`): the array comes back as assembler data
/// directives after the `uc_probe:` label. 64-bit targets give one `.quad`
/// (or `.8byte`) per value; 32-bit ones two `.long` / `.word` / `.4byte`
/// halves in the target's byte order (hppa: high word first; sh4: low word
/// first). The directives are laid out as bytes, then read back 8 at a time.
extension LayoutProbe {
    /// Data directives and their sizes in bytes, as gcc prints them for the
    /// targets it compiles here (`.word` is 4 bytes on hppa, its only user).
    static let dataDirectives: [String: Int] = [
        ".quad": 8, ".8byte": 8, ".dword": 8, ".long": 4, ".4byte": 4, ".int": 4, ".word": 4,
    ]

    static func parseAssembly(_ asm: String, bigEndian: Bool) -> [Int64]? {
        let lines = asm.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(of: "uc_probe:") else { return nil }
        var bytes: [UInt8] = []
        for line in lines[(start + 1)...] {
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let op = parts.first else { continue }
            if op == ".zero" || op == ".space" {
                guard parts.count == 2, let n = Int(parts[1]), n >= 0, n < 1 << 24 else { return nil }
                bytes += [UInt8](repeating: 0, count: n)
                continue
            }
            guard let width = dataDirectives[op] else { break }   // the array ends at the first non-data line
            guard parts.count == 2 else { return nil }
            for item in parts[1].split(separator: ",") {
                guard let v = integer(item.trimmingCharacters(in: .whitespaces)) else { return nil }
                bytes += encode(v, width: width, bigEndian: bigEndian)
            }
        }
        guard !bytes.isEmpty, bytes.count % 8 == 0 else { return nil }
        return stride(from: 0, to: bytes.count, by: 8).map { i in
            let word = bytes[i..<i + 8]
            let ordered = bigEndian ? Array(word) : word.reversed()
            return Int64(bitPattern: ordered.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }

    /// A decimal or 0x literal, possibly negative, as gcc prints them.
    static func integer(_ t: String) -> Int64? {
        let neg = t.hasPrefix("-"), body = neg ? String(t.dropFirst()) : t
        let magnitude = body.lowercased().hasPrefix("0x") ? UInt64(body.dropFirst(2), radix: 16) : UInt64(body)
        guard let m = magnitude else { return nil }
        return neg ? Int64(bitPattern: 0 &- m) : Int64(bitPattern: m)
    }

    static func encode(_ v: Int64, width: Int, bigEndian: Bool) -> [UInt8] {
        let u = UInt64(bitPattern: v)
        let little = (0..<width).map { UInt8(truncatingIfNeeded: u >> (8 * UInt64($0))) }
        return bigEndian ? little.reversed() : little
    }

    /// `<triple>-gcc` on `UAPI_CONFORM_CROSS_PATH` (colon separated; empty:
    /// none), else on PATH and in /usr/bin.
    static func findCrossGcc(_ triple: String) -> String? {
        let env = ProcessInfo.processInfo.environment
        let dirs: [Substring]
        if let forced = env["UAPI_CONFORM_CROSS_PATH"] { dirs = forced.split(separator: ":") } else {
            dirs = (env["PATH"] ?? "").split(separator: ":") + ["/usr/bin"]
        }
        return dirs.map { "\($0)/\(triple)-gcc" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
