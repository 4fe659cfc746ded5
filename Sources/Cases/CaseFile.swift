import Foundation
import Layout

/// Cases as data: the format `run --cases FILE.json` reads and the project's
/// own hand-written catalogue (fixtures/cases/handwritten) is written in.
/// README "Cases as data" documents every key. Input is hostile: every value
/// is checked against the field it goes to, and every refusal is one line
/// naming the file, the case and the key.
package enum CaseFile {
    /// The most bytes one call may send (size word, tail, payload, buffers).
    package static let maxBytes = 1 << 20

    /// Loads and validates `path`. With no profiles, ioctls and fields are
    /// checked against every profile in the default fixtures (known in one
    /// of them is enough); the runner skips what its profile lacks.
    /// `knownProfiles` (default: the names of `profiles`) are the names a
    /// case's `profiles` and `expect` may use.
    /// `leaveOutGaps`: a case naming an ioctl, field or constant the profiles
    /// lack is not part of the load (the catalogue), rather than refused.
    package static func load(path: String, profiles: [Profile]? = nil, knownProfiles: Set<String>? = nil,
                             leaveOutGaps: Bool = false) throws -> [ConformanceCase] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("\(path): cannot read") }
        let known = try profiles ?? defaultProfiles()
        return try parse(data, name: path, profiles: known, knownProfiles: knownProfiles, leaveOutGaps: leaveOutGaps)
    }

    static func defaultProfiles() throws -> [Profile] {
        guard let dir = ProfileStore.defaultFixtures() else {
            throw InputError("no fixtures/profiles found to validate cases against")
        }
        let store = try ProfileStore(directory: dir + "/profiles")
        return try store.names.map { try store.resolved($0) }
    }

    /// The cases of `data`. A case whose `profiles` name none of `profiles`
    /// is not part of this load and is left out; every other case is checked
    /// against the ones it applies to.
    package static func parse(_ data: Data, name: String, profiles: [Profile], knownProfiles: Set<String>? = nil,
                              leaveOutGaps: Bool = false) throws -> [ConformanceCase] {
        let json: JSONValue
        do { json = try JSONValue.parse(Array(data)) } catch let e as JSONError {
            throw InputError("\(name): not valid JSON: \(e.message)")
        }
        guard case .array(let items) = json else { throw InputError("\(name): expected a JSON array of cases") }
        var out: [ConformanceCase] = []
        var seen: Set<String> = []
        let names = knownProfiles ?? Set(profiles.map(\.name))
        for (n, item) in items.enumerated() {
            guard case .object(let members) = item else { throw InputError("\(name): case #\(n + 1) is not an object") }
            let id = try caseId(members, file: name, number: n + 1)
            guard seen.insert(id).inserted else { throw InputError("\(name): case \(id): duplicate id") }
            var reader = CaseReader(id: id, file: name, members: members, profiles: profiles, knownProfiles: names)
            reader.leaveOutGaps = leaveOutGaps
            if let c = try reader.read() { out.append(c) }
        }
        return out
    }

    /// Ids are reported as is (KTAP lines, JUnit names, shell globs): letters,
    /// digits and `_ . : -` only.
    static func caseId(_ members: [(key: String, value: JSONValue)], file: String, number: Int) throws -> String {
        guard case .string(let id)? = members.first(where: { $0.key == "id" })?.value, !id.isEmpty else {
            throw InputError("\(file): case #\(number) has no \"id\"")
        }
        let allowed = id.unicodeScalars.allSatisfy { c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
                || "_.:-".unicodeScalars.contains(c)
        }
        guard allowed else {
            throw InputError("\(file): case #\(number): id \(String(reflecting: id)) may use only letters, digits "
                             + "and _ . : -")
        }
        return id
    }

    /// Lower-case hex, two digits a byte, as `parseHex` reads it.
    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return out
    }

    /// Hex bytes, with optional `0x` and white space between bytes.
    static func parseHex(_ s: String) -> [UInt8]? {
        var h = s.filter { !$0.isWhitespace }
        if h.hasPrefix("0x") { h.removeFirst(2) }
        guard h.count % 2 == 0, h.allSatisfy(\.isHexDigit) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(h.count / 2)
        var idx = h.startIndex
        while idx < h.endIndex {
            let next = h.index(idx, offsetBy: 2)
            guard let b = UInt8(h[idx..<next], radix: 16) else { return nil }
            out.append(b)
            idx = next
        }
        return out
    }
}
