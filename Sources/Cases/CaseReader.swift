import Layout

/// A case names what the profiles it is read for lack: an ioctl, a field of
/// its struct or a constant. A refusal (`error`) unless the reader leaves such
/// cases out (the hand-written catalogue on 6.12, which has no vIOMMU).
struct ProfileGap: Error { let error: InputError }

/// Reads one case of a case file against the profiles it applies to.
struct CaseReader {
    typealias Members = [(key: String, value: JSONValue)]

    let id: String
    let file: String
    let members: Members
    let profiles: [Profile]
    let knownProfiles: Set<String>
    /// Leave out a case that names what its profiles lack (`ProfileGap`)
    /// instead of refusing the file: the catalogue of an older kernel.
    var leaveOutGaps = false

    static let callKeys: Set<String> = ["ioctl", "target", "fields", "size", "tail", "payload", "null", "expect",
                                        "consumes", "outputs", "read", "write", "count"]
    static let caseKeys: Set<String> = callKeys.union(["id", "summary", "reference", "profiles", "requires", "setup",
                                                       "before", "written"])

    func fail(_ message: String) -> InputError { InputError("\(file): case \(id): \(message)") }

    func member(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    func string(_ key: String) throws -> String? {
        guard let v = member(key) else { return nil }
        guard case .string(let s) = v else { throw fail("\"\(key)\" must be a string, not \(v.kind)") }
        return s
    }

    func strings(_ key: String) throws -> [String]? {
        guard let v = member(key) else { return nil }
        guard case .array(let items) = v else { throw fail("\"\(key)\" must be an array of names") }
        return try items.map { item in
            guard case .string(let s) = item else { throw fail("\"\(key)\" must be an array of names") }
            return s
        }
    }

    /// The case, or nil when it applies to none of the profiles of this load
    /// (or, with `leaveOutGaps`, names an ioctl, field or constant they lack).
    func read() throws -> ConformanceCase? {
        do { return try readCase() } catch let gap as ProfileGap {
            if leaveOutGaps { return nil }
            throw gap.error
        }
    }

    func readCase() throws -> ConformanceCase? {
        if let bad = members.map(\.key).sorted().first(where: { !CaseReader.caseKeys.contains($0) }) {
            throw fail("unknown key \"\(bad)\"")
        }
        let (expect, byProfile) = try expectation()
        var restricted = try strings("profiles")
        for p in restricted ?? [] where !knownProfiles.contains(p) {
            let known = knownProfiles.sorted().joined(separator: ", ")
            throw fail("unknown profile \"\(p)\" in \"profiles\" (known: \(known))")
        }
        if restricted == nil, let byProfile, byProfile["*"] == nil { restricted = byProfile.keys.sorted() }
        if let restricted, let byProfile, byProfile["*"] == nil,
           let missing = restricted.first(where: { byProfile[$0] == nil }) {
            throw fail("\"expect\" has no outcome for profile \(missing) (name it or give \"*\")")
        }
        let applicable = profiles.filter { restricted?.contains($0.name) ?? true }
        if applicable.isEmpty { return nil }

        let setup = try setupSteps()
        var defined = Set(SetupStep.chain(setup).flatMap(\.defines)).union(["iommufd"])
        let calls = CallReader(reader: self, profiles: applicable, chain: SetupStep.chain(setup))
        var before: [Call] = []
        if let b = member("before") {
            guard case .array(let items) = b else { throw fail("\"before\" must be an array of calls") }
            for (n, item) in items.enumerated() {
                guard case .object(let o) = item else { throw fail("before #\(n + 1) is not an object") }
                let label = "before #\(n + 1): "
                if let bad = o.map(\.key).sorted().first(where: { !CaseReader.callKeys.contains($0) }) {
                    throw fail(label + "unknown key \"\(bad)\"")
                }
                guard case .string(let text)? = o.first(where: { $0.key == "expect" })?.value else {
                    throw fail(label + "missing \"expect\" (a string: OK, OK(n), OK(*) or an errno name)")
                }
                let c = try calls.call(o, label: label, defined: defined, expect: try outcome(text, label: label))
                defined.formUnion(c.outputs.compactMap(\.name))
                before.append(c)
            }
        }
        var call = try calls.call(members.filter { CaseReader.callKeys.contains($0.key) }, label: "", defined: defined,
                                  expect: expect)
        call.written = try calls.written(member("written"), call: call)
        var requirements = try requires()
        requirements.profiles = restricted.map(Set.init)
        var out = ConformanceCase(id: id, requirements: requirements, setup: setup, before: before, call: call,
                                  reference: try string("reference") ?? file, summary: try string("summary") ?? "")
        out.expectByProfile = (byProfile ?? [:]).filter { $0.key != "*" }
        return out
    }

    /// `expect`: one outcome, or `{profile: outcome}` with `"*"` for the rest.
    func expectation() throws -> (Outcome, [String: Outcome]?) {
        guard let v = member("expect") else { throw fail("missing \"expect\"") }
        switch v {
        case .string(let text):
            return (try outcome(text, label: ""), nil)
        case .object(let pairs):
            guard !pairs.isEmpty else { throw fail("\"expect\" names no profile") }
            var map: [String: Outcome] = [:]
            for (k, val) in pairs {
                guard k == "*" || knownProfiles.contains(k) else {
                    throw fail("\"expect\" names unknown profile \"\(k)\" (known: "
                               + "\(knownProfiles.sorted().joined(separator: ", ")), or \"*\")")
                }
                guard case .string(let text) = val else { throw fail("\"expect\".\(k) must be a string") }
                map[k] = try outcome(text, label: "")
            }
            // The default for profiles the map does not name (none when there is no "*").
            let fallback = map["*"] ?? map[pairs[0].key] ?? .ok
            return (fallback, map)
        default:
            throw fail("\"expect\" must be a string or an object of profile: outcome")
        }
    }

    func outcome(_ text: String, label: String) throws -> Outcome {
        guard let o = Outcome(text) else {
            throw fail(label + "unknown expectation \"\(text)\" (OK, OK(n) with n ≥ 0, OK(*) or an errno name)")
        }
        return o
    }

    func setupSteps() throws -> [SetupStep] {
        guard member("setup") != nil else { return [] }
        guard let names = try? strings("setup") else { throw fail("\"setup\" must be an array of names") }
        return try names.map { sn in
            guard let step = SetupStep(rawValue: sn) else {
                let known = SetupStep.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail("unknown setup \"\(sn)\" (known: \(known))")
            }
            return step
        }
    }

    /// `requires`: what the case needs beyond what its setup and target imply.
    func requires() throws -> Requirements {
        var r = Requirements()
        for need in try strings("requires") ?? [] {
            switch need {
            case "mock_device": r.mockDevice = true
            case "pci_device": r.pciDevice = true
            case "tsm_device": r.tsmDevice = true
            case let cap where cap.hasPrefix("CAP_") && cap.dropFirst(4).allSatisfy({ $0.isUppercase || $0 == "_" }):
                r.capabilities.insert(cap)
            default:
                throw fail("unknown requirement \"\(need)\" (mock_device, pci_device, tsm_device or a CAP_ name)")
            }
        }
        return r
    }
}
