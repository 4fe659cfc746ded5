import Layout

/// `explain ID`: what one case sends and why.
package enum Explain {
    /// Renders the case `id` as generated for `profile`, with its
    /// expectation on every profile in `others` that has it.
    package static func render(id: String, profile: Profile, others: [Profile] = [],
                               fixtures: String? = nil) throws -> String {
        guard let c = try Catalogue.cases(for: profile, fixtures: fixtures).first(where: { $0.id == id }) else {
            throw InputError("no case \(id) in profile \(profile.name)")
        }
        return try render(c, profile: profile, others: others, fixtures: fixtures)
    }

    package static func render(_ c: ConformanceCase, profile: Profile, others: [Profile] = [],
                               fixtures: String? = nil) throws -> String {
        let call = try Compiler.compile(c.call, profile: profile, context: c.id)
        var lines: [String] = []
        lines.append("\(c.id)")
        if !c.summary.isEmpty { lines.append("  \(c.summary)") }
        let node = DeviceNodes.path(of: c.call.target)
        lines.append("ioctl:     \(c.ioctl) = 0x\(String(call.request, radix: 16)) on \(node)")
        let chain = SetupStep.chain(c.setup)
        lines.append("setup:     " + (chain.isEmpty ? "(none)" : chain.map(\.rawValue).joined(separator: " → ")))
        for b in c.before {
            let fields = b.fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.append("before:    \(b.ioctl) " + fields + " → \(b.expect)")
        }
        var req: [String] = []
        if c.requirements.mockDevice { req.append("mock device (IOMMU_TEST_CMD)") }
        if c.requirements.tsmDevice { req.append("TSM-capable PCI device") }
        else if c.requirements.pciDevice { req.append("PCI device bound to vfio-pci") }
        req += c.requirements.capabilities.sorted()
        if let ps = c.requirements.profiles { req.append("profiles " + ps.sorted().joined(separator: ", ")) }
        lines.append("needs:     " + (req.isEmpty ? "nothing" : req.joined(separator: "; ")))
        if let bytes = call.bytes {
            let sizeWord = CompiledCall.load(bytes, at: 0, width: 4)
            lines.append("bytes:     \(bytes.count) sent, size word \(sizeWord) (struct \(call.layout.name), sizeof "
                + "\(call.layout.size))")
            let patched = Dictionary(call.patches.map { ($0.offset, $0.value) }, uniquingKeysWith: { a, _ in a })
            for f in call.layout.fields where f.size > 0 && f.offset < bytes.count {
                let end = min(f.end, bytes.count)
                let hex = bytes[f.offset..<end].map { String(format2($0)) }.joined(separator: " ")
                let note = patched[f.offset].map { "  ← \($0) at run time" } ?? ""
                lines.append("  +\(pad(f.offset))  \(f.name.padding(24))\(hex)\(note)")
            }
            if bytes.count > call.layout.size {
                let extra = bytes[call.layout.size...].map { format2($0) }.joined(separator: " ")
                lines.append("  +\(pad(call.layout.size))  \("(past sizeof)".padding(24))\(extra)")
            }
        } else {
            lines.append("bytes:     NULL argument")
        }
        lines.append("expect:    \(profile.name): \(c.expected(for: profile.name))")
        if let t = c.expectOnTestKernel { lines.append("           with CONFIG_IOMMUFD_TEST: \(t)") }
        for o in others where o.name != profile.name {
            if let oc = try Catalogue.cases(for: o, fixtures: fixtures).first(where: { $0.id == c.id }) {
                lines.append("           \(o.name): \(oc.expected(for: o.name))")
            } else if o.ioctl(c.ioctl) == nil {
                lines.append("           \(o.name): SKIP (ioctl not in profile)")
            }
        }
        lines.append("reference: \(c.reference)")
        return lines.joined(separator: "\n")
    }

    static func format2(_ b: UInt8) -> String { let s = String(b, radix: 16); return s.count == 1 ? "0" + s : s }
    static func pad(_ n: Int) -> String { let s = String(n); return String(repeating: " ",
                                                                           count: max(0, 3 - s.count)) + s }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
