import Foundation
import Layout

/// Cases as data for `run --cases FILE.json`: a JSON array of
/// `{"id","ioctl","fields":{name:value},"size"?,"tail"?:"hex","expect","setup"?:[…],"reference"?}`
/// where a value is a number or "$ioas", "$idev", "$hwpt", "$viommu", "$vdevice", ….
package enum CaseFile {
    /// Loads and validates `path`. With no profile, ioctls and fields are
    /// checked against every profile in the default fixtures (known in one
    /// of them is enough); the runner skips what its profile lacks.
    package static func load(path: String, profiles: [Profile]? = nil) throws -> [ConformanceCase] {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("\(path): cannot read") }
        let known = try profiles ?? defaultProfiles()
        return try parse(data, name: path, profiles: known)
    }

    static func defaultProfiles() throws -> [Profile] {
        guard let dir = ProfileStore.defaultFixtures() else { throw InputError("no fixtures/profiles found to validate cases against") }
        let store = try ProfileStore(directory: dir + "/profiles")
        return try store.names.map { try store.resolved($0) }
    }

    package static func parse(_ data: Data, name: String, profiles: [Profile]) throws -> [ConformanceCase] {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw InputError("\(name): not valid JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")")
        }
        guard let array = json as? [Any] else { throw InputError("\(name): expected a JSON array of cases") }
        var out: [ConformanceCase] = []
        var seen: Set<String> = []
        for (n, item) in array.enumerated() {
            guard let o = item as? [String: Any] else { throw InputError("\(name): case #\(n + 1) is not an object") }
            guard let id = o["id"] as? String, !id.isEmpty else { throw InputError("\(name): case #\(n + 1) has no \"id\"") }
            let where_ = "\(name): case \(id)"
            guard seen.insert(id).inserted else { throw InputError("\(where_): duplicate id") }
            let allowed: Set<String> = ["id", "ioctl", "fields", "size", "tail", "expect", "setup", "reference", "summary", "target", "null"]
            if let bad = o.keys.sorted().first(where: { !allowed.contains($0) }) { throw InputError("\(where_): unknown key \"\(bad)\"") }
            guard let ioctl = o["ioctl"] as? String else { throw InputError("\(where_): missing \"ioctl\"") }
            let withIoctl = profiles.filter { $0.ioctl(ioctl) != nil }
            guard !withIoctl.isEmpty else { throw InputError("\(where_): unknown ioctl \(ioctl)") }
            guard let expText = o["expect"] as? String else { throw InputError("\(where_): missing \"expect\"") }
            guard let expect = Outcome(expText) else { throw InputError("\(where_): unknown expectation \"\(expText)\" (OK, OK(n), OK(*) or an errno name)") }
            var setup: [SetupStep] = []
            if let s = o["setup"] {
                guard let names = s as? [String] else { throw InputError("\(where_): \"setup\" must be an array of names") }
                for sn in names {
                    guard let step = SetupStep(rawValue: sn) else {
                        throw InputError("\(where_): unknown setup \"\(sn)\" (known: \(SetupStep.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    setup.append(step)
                }
            }
            var fields: [String: FieldValue] = [:]
            if let f = o["fields"] {
                guard let fo = f as? [String: Any] else { throw InputError("\(where_): \"fields\" must be an object") }
                for (k, v) in fo {
                    // A field must exist in the ioctl's struct in some profile that has the ioctl.
                    let exists = withIoctl.contains { p in p.structure(p.ioctl(ioctl)!.struct)?.lp64.fields.contains { $0.name == k } ?? false }
                    guard exists else { throw InputError("\(where_): \(ioctl) has no field '\(k)'") }
                    fields[k] = try value(v, field: k, context: where_)
                }
            }
            var size: Int?
            if let s = o["size"] {
                guard !isBool(s), let n = s as? NSNumber, n.intValue >= 0 else {
                    throw InputError("\(where_): \"size\" must be a non-negative number")
                }
                size = n.intValue
            }
            var tail: [UInt8] = []
            if let t = o["tail"] {
                guard let hex = t as? String, let bytes = parseHex(hex) else { throw InputError("\(where_): \"tail\" must be a hex string") }
                tail = bytes
            }
            var target = CallTarget.iommufd
            if let t = o["target"] {
                guard let ts = t as? String, let tt = CallTarget(rawValue: ts) else { throw InputError("\(where_): unknown target") }
                target = tt
            } else if withIoctl.first!.ioctl(ioctl)!.family == .vfio { target = .vfio }
            // Every $ref must be defined by the setup chain.
            let chain = SetupStep.chain(setup)
            for (k, v) in fields {
                if case .ref(let rn) = v, rn != "iommufd" {
                    guard let step = SetupStep.defining(rn) else { throw InputError("\(where_): field \(k): unknown reference $\(rn)") }
                    guard chain.contains(step) else { throw InputError("\(where_): field \(k): $\(rn) needs setup \"\(step.rawValue)\"") }
                }
            }
            let nullArg = (o["null"] as? Bool) ?? false
            // Objects and fds the call creates are released at teardown.
            let st = withIoctl.first!.structure(withIoctl.first!.ioctl(ioctl)!.struct)
            let outputs: [Call.Output] = ioctl == "VFIO_DEVICE_BIND_IOMMUFD" ? [] : (st?.lp64.fields ?? []).compactMap { f in
                guard f.name.hasPrefix("out_") else { return nil }
                if f.name.hasSuffix("_fd") { return .init(f.name, .fd) }
                if f.name.hasSuffix("_id") && ioctl != "IOMMU_TEST_CMD" { return .init(f.name, .object) }
                return nil
            }
            let call = Call(ioctl, fields, size: size, tail: tail, nullArg: nullArg, target: target, expect: expect, outputs: outputs)
            out.append(ConformanceCase(id: id, setup: setup, call: call, reference: (o["reference"] as? String) ?? name,
                                       summary: (o["summary"] as? String) ?? ""))
        }
        return out
    }

    static func value(_ v: Any, field: String, context: String) throws -> FieldValue {
        if let s = v as? String {
            if s.hasPrefix("$") {
                let n = String(s.dropFirst())
                guard SetupStep.referenceNames.contains(n) else {
                    throw InputError("\(context): field \(field): unknown reference \(s) (known: \(SetupStep.referenceNames.sorted().map { "$" + $0 }.joined(separator: ", ")))")
                }
                return .ref(n)
            }
            if s.hasPrefix("0x"), let x = UInt64(s.dropFirst(2), radix: 16) { return .int(x) }
            throw InputError("\(context): field \(field): \"\(s)\" is neither a number nor a $reference")
        }
        if !isBool(v), let n = v as? NSNumber {
            if n.int64Value < 0 { return .neg(n.int64Value) }
            return .int(n.uint64Value)
        }
        throw InputError("\(context): field \(field): value must be a number or a $reference")
    }

    static func isBool(_ v: Any) -> Bool { String(describing: type(of: v)).contains("Bool") }

    static func parseHex(_ s: String) -> [UInt8]? {
        let h = s.hasPrefix("0x") ? String(s.dropFirst(2)) : s
        guard h.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var idx = h.startIndex
        while idx < h.endIndex {
            let next = h.index(idx, offsetBy: 2)
            guard let b = UInt8(h[idx..<next], radix: 16) else { return nil }
            out.append(b); idx = next
        }
        return out
    }
}
