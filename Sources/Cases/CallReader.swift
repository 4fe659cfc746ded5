import Foundation
import Layout

/// A struct field as the profiles a case applies to lay it out.
struct FieldInfo {
    let name: String
    let size: Int
    /// In the struct's `pointer_fields`: a `{"buffer": n}` may go here.
    let pointer: Bool
    /// In the struct's `fd_fields`: file descriptors are __s32, so -1 may go here.
    let fd: Bool

    /// The largest value the field holds (fields wider than 8 bytes take 8).
    var max: UInt64 { size >= 8 ? .max : (1 << UInt64(8 * size)) - 1 }
    var min: Int64 { fd ? -(1 << Int64(8 * Swift.min(size, 8) - 1)) : 0 }
}

/// Reads the call keys of a case or of one of its `before` calls.
struct CallReader {
    let reader: CaseReader
    /// The profiles the case applies to.
    let profiles: [Profile]
    let chain: [SetupStep]

    func fail(_ message: String) -> InputError { reader.fail(message) }
    func gap(_ message: String) -> ProfileGap { ProfileGap(error: reader.fail(message)) }

    func call(_ o: CaseReader.Members, label: String, defined: Set<String>, expect: Outcome) throws -> Call {
        func member(_ key: String) -> JSONValue? { o.first { $0.key == key }?.value }
        if member("read") != nil || member("write") != nil {
            return try fileCall(o, label: label, defined: defined, expect: expect)
        }
        if member("count") != nil { throw fail(label + "\"count\" belongs to a \"read\"") }
        guard case .string(let ioctl)? = member("ioctl") else { throw fail(label + "missing \"ioctl\"") }
        let withIoctl = profiles.filter { $0.ioctl(ioctl) != nil }
        guard let first = withIoctl.first, let io = first.ioctl(ioctl) else {
            throw gap(label + "unknown ioctl \(ioctl)")
        }
        let structs = withIoctl.compactMap { p in p.ioctl(ioctl).flatMap { p.structure($0.struct) } }
        var fields: [String: FieldValue] = [:]
        if let f = member("fields") {
            guard case .object(let pairs) = f else { throw fail(label + "\"fields\" must be an object") }
            for (k, v) in pairs {
                let info = try field(k, ioctl: ioctl, in: structs, label: label)
                let value = try fieldValue(v, info, label: label + "field \(k): ", withIoctl)
                if case .ref(let r) = value { try check(ref: r, field: k, defined: defined, label: label) }
                fields[k] = value
            }
        }
        var call = Call(ioctl, fields, expect: expect)
        call.size = try size(member("size"), label: label)
        call.tail = try bytes(member("tail"), key: "tail", label: label)
        call.payload = try bytes(member("payload"), key: "payload", label: label)
        if let n = member("null") {
            guard case .bool(let b) = n else { throw fail(label + "\"null\" must be true or false") }
            call.nullArg = b
        }
        call.target = io.family == .vfio && !UapiScope.isContainerIoctl(io.name) ? .vfio : .iommufd
        if let t = member("target") {
            guard case .string(let ts) = t, let target = CallTarget(rawValue: ts) else {
                throw fail(label + "unknown target (iommufd, vfio or vfio1)")
            }
            call.target = target
        }
        if let c = member("consumes") {
            guard case .string(let name) = c, defined.contains(name) else {
                throw fail(label + "\"consumes\" must name an object the setup or an earlier call defines")
            }
            call.consumes = name
        }
        call.outputs = try outputs(member("outputs"), ioctl: ioctl, structs: structs, label: label)
            ?? Call.Output.created(by: ioctl, profile: first)
        return call
    }

    func field(_ name: String, ioctl: String, in structs: [ProfileStruct], label: String) throws -> FieldInfo {
        guard let s = structs.first(where: { $0.lp64.fields.contains { $0.name == name } }),
              let f = s.lp64.fields.first(where: { $0.name == name }) else {
            throw gap(label + "\(ioctl) has no field '\(name)'")
        }
        guard f.size > 0 else {
            throw fail(label + "field \(name) is a flexible array: give its bytes as \"payload\"")
        }
        return FieldInfo(name: name, size: f.size, pointer: s.pointerFields.contains(name),
                         fd: s.fdFields.contains(name))
    }

    func check(ref r: String, field: String, defined: Set<String>, label: String) throws {
        if defined.contains(r) { return }
        if let step = SetupStep.defining(r), !chain.contains(step) {
            throw fail(label + "field \(field): $\(r) needs setup \"\(step.rawValue)\"")
        }
        throw fail(label + "field \(field): $\(r) is defined by neither the setup nor an earlier call")
    }

    /// A field's value: a whole number, constant names and numbers joined by
    /// `|`, a `$reference`, or `{"buffer": n}` for a pointer field.
    func fieldValue(_ v: JSONValue, _ f: FieldInfo, label: String, _ withIoctl: [Profile]) throws -> FieldValue {
        switch v {
        case .number(let text):
            return try number(text, f, label: label)
        case .string(let s) where s.hasPrefix("$"):
            let n = String(s.dropFirst())
            guard SetupStep.referenceNames.contains(n) else {
                let known = SetupStep.referenceNames.sorted().map { "$" + $0 }.joined(separator: ", ")
                throw fail(label + "unknown reference \(s) (known: \(known))")
            }
            return .ref(n)
        case .string(let s):
            var value: UInt64 = 0
            for term in s.split(separator: "|", omittingEmptySubsequences: false) {
                let token = term.trimmingCharacters(in: .whitespaces)
                guard !token.isEmpty else { throw fail(label + "\"\(s)\" has an empty term") }
                value |= try constant(token, label: label, withIoctl)
            }
            guard value <= f.max else {
                throw fail(label + "\"\(s)\" does not fit \(f.name), a \(f.size)-byte field (0...\(f.max))")
            }
            return .int(value)
        case .object(let pairs) where pairs.contains(where: { $0.key == "buffer" }):
            guard f.pointer else { throw fail(label + "\(f.name) is not a pointer field: no buffer may go there") }
            return try buffer(pairs, label: label)
        case .object(let pairs) where pairs.count == 1 && pairs[0].key == "bytes":
            guard f.pointer else { throw fail(label + "\(f.name) is not a pointer field: no buffer may go there") }
            return .bytes(try bytes(pairs[0].value, key: "bytes", label: label))
        default:
            throw fail(label + "value must be a number, constant names, a $reference, {\"buffer\": n} "
                       + "or {\"bytes\": hex}")
        }
    }

    /// `{"buffer": n}`, with optional `"bytes"` (hex, at most n) and
    /// `"offset"` (0...n: the field gets the address of that byte).
    func buffer(_ pairs: [(key: String, value: JSONValue)], label: String) throws -> FieldValue {
        if let bad = pairs.map(\.key).first(where: { !["buffer", "bytes", "offset"].contains($0) }) {
            throw fail(label + "unknown buffer key \"\(bad)\" (buffer, bytes, offset)")
        }
        func whole(_ key: String) throws -> Int? {
            guard let v = pairs.first(where: { $0.key == key })?.value else { return nil }
            guard case .number(let text) = v, let n = Int(text), n >= 0, n <= CaseFile.maxBytes else {
                throw fail(label + "a buffer's \"\(key)\" is a whole number of bytes, 0 to \(CaseFile.maxBytes)")
            }
            return n
        }
        let n = try whole("buffer") ?? 0
        let offset = try whole("offset") ?? 0
        let bytes = try self.bytes(pairs.first { $0.key == "bytes" }?.value, key: "bytes", label: label)
        guard bytes.count <= n, offset <= n else {
            throw fail(label + "a buffer's \"bytes\" and \"offset\" must lie within its \(n) bytes")
        }
        if bytes.isEmpty && offset == 0 { return .buffer(n) }
        return .data(UserBytes(bytes: bytes, size: n, offset: offset))
    }

    /// `written`: `{field: value}` the checked call must leave in the struct;
    /// for a pointer field `{"bytes": hex}`, what its buffer must hold.
    func written(_ v: JSONValue?, call: Call) throws -> [String: Written] {
        guard let v else { return [:] }
        guard case .object(let pairs) = v else { throw fail("\"written\" must be an object of field: value") }
        let structs = profiles.compactMap { p in p.ioctl(call.ioctl).flatMap { p.structure($0.struct) } }
        var out: [String: Written] = [:]
        for (k, value) in pairs {
            let info = try field(k, ioctl: call.ioctl, in: structs, label: "written: ")
            if case .object(let inner) = value, inner.count == 1, inner[0].key == "bytes" {
                guard info.pointer, call.fields[k] != nil else {
                    throw fail("written: \(k): bytes are for a pointer field the call gives a buffer")
                }
                out[k] = .bytes(try bytes(inner[0].value, key: "bytes", label: "written: \(k): "))
                continue
            }
            guard case .int(let n) = try fieldValue(value, info, label: "written: \(k): ", profiles) else {
                throw fail("written: \(k): a number or constant names")
            }
            out[k] = .int(n)
        }
        return out
    }

    func number(_ text: String, _ f: FieldInfo, label: String) throws -> FieldValue {
        guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            throw fail(label + "\(text) is not a whole number")
        }
        if text.hasPrefix("-") {
            guard f.fd else {
                throw fail(label + "\(text) is negative, but \(f.name) is unsigned (only fd fields take -1)")
            }
            guard let v = Int64(text), v >= f.min else {
                throw fail(label + "\(text) does not fit \(f.name), a \(f.size)-byte fd field (\(f.min)...)")
            }
            return .neg(v)
        }
        guard let v = UInt64(text), v <= f.max else {
            throw fail(label + "\(text) does not fit \(f.name), a \(f.size)-byte field (0...\(f.max))")
        }
        return .int(v)
    }

    /// One token of a constant expression: `0x…`, a decimal, or a name the
    /// profiles with the ioctl agree on.
    func constant(_ token: String, label: String, _ withIoctl: [Profile]) throws -> UInt64 {
        if token.hasPrefix("0x"), let v = UInt64(token.dropFirst(2), radix: 16) { return v }
        if let v = UInt64(token) { return v }
        let values = Set(withIoctl.compactMap { $0.enums[token] })
        guard values.count == 1, let v = values.first else {
            if values.isEmpty {
                throw gap(label + "\"\(token)\" is neither a number, a $reference nor a constant of the profile")
            }
            throw fail(label + "constant \(token) differs between the case's profiles")
        }
        return UInt64(truncatingIfNeeded: v)
    }

    /// `size`: the struct's size word, a __u32, and the bytes sent.
    func size(_ v: JSONValue?, label: String) throws -> Int? {
        guard let v else { return nil }
        guard case .number(let text) = v, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
              !text.hasPrefix("-") else {
            throw fail(label + "\"size\" must be a non-negative whole number")
        }
        guard let n = UInt64(text), n <= UInt64(UInt32.max) else {
            throw fail(label + "\"size\" \(text) does not fit the __u32 size word")
        }
        guard n <= UInt64(CaseFile.maxBytes) else {
            throw fail(label + "\"size\" \(text) is over the \(CaseFile.maxBytes) bytes (1 MiB) a case may send")
        }
        return Int(n)
    }

    func bytes(_ v: JSONValue?, key: String, label: String) throws -> [UInt8] {
        guard let v else { return [] }
        guard case .string(let hex) = v, let b = CaseFile.parseHex(hex) else {
            throw fail(label + "\"\(key)\" must be a hex string")
        }
        guard b.count <= CaseFile.maxBytes else {
            throw fail(label + "\"\(key)\" has \(b.count) bytes, over the \(CaseFile.maxBytes) (1 MiB) a case may send")
        }
        return b
    }

    /// `outputs`: `[{"field", "kind", "name"}]`; nil when the key is absent.
    func outputs(_ v: JSONValue?, ioctl: String, structs: [ProfileStruct], label: String) throws -> [Call.Output]? {
        guard let v else { return nil }
        guard case .array(let items) = v else { throw fail(label + "\"outputs\" must be an array") }
        let kinds: [String: Call.Output.Kind] = ["object": .object, "fd": .fd, "returned_fd": .returnedFd,
                                                 "implicit": .implicit]
        return try items.map { item in
            guard case .string(let k)? = item["kind"], let kind = kinds[k] else {
                throw fail(label + "an output needs \"kind\": object, fd, returned_fd or implicit")
            }
            var field = ""
            if case .string(let f)? = item["field"] { field = f }
            if kind != .returnedFd { _ = try self.field(field, ioctl: ioctl, in: structs, label: label) }
            var name: String?
            if let n = item["name"] {
                guard case .string(let s) = n, SetupStep.referenceNames.contains(s) else {
                    let known = SetupStep.referenceNames.sorted().joined(separator: ", ")
                    throw fail(label + "an output \"name\" must be a reference name (known: \(known))")
                }
                name = s
            }
            if case .object(let keys) = item,
               let bad = keys.map(\.key).first(where: { !["field", "kind", "name"].contains($0) }) {
                throw fail(label + "unknown output key \"\(bad)\"")
            }
            return Call.Output(field, kind, name: name)
        }
    }
}

extension CallReader {
    /// `{"read": "$fd", "count": n}` or `{"write": "$fd", "payload": hex}`:
    /// nothing else but `expect`.
    func fileCall(_ o: CaseReader.Members, label: String, defined: Set<String>, expect: Outcome) throws -> Call {
        func member(_ key: String) -> JSONValue? { o.first { $0.key == key }?.value }
        let isRead = member("read") != nil
        let verb = isRead ? "read" : "write"
        let allowed: Set<String> = isRead ? ["read", "count", "expect"] : ["write", "payload", "expect"]
        if let bad = o.map(\.key).sorted().first(where: { !allowed.contains($0) }) {
            throw fail(label + "a \"\(verb)\" takes only \(allowed.sorted().joined(separator: ", ")), not \"\(bad)\"")
        }
        guard case .string(let ref)? = member(verb), ref.hasPrefix("$"),
              defined.contains(String(ref.dropFirst())) else {
            throw fail(label + "\"\(verb)\" must name a descriptor the setup or an earlier call defines ($name)")
        }
        let fd = String(ref.dropFirst())
        var call = Call(verb, expect: expect)
        if isRead {
            guard case .number(let text)? = member("count"), let n = Int(text), n >= 0, n <= CaseFile.maxBytes else {
                throw fail(label + "a \"read\" needs \"count\": a whole number of bytes, 0 to \(CaseFile.maxBytes)")
            }
            call.fileIO = .read(fd: fd, count: n)
        } else {
            call.fileIO = .write(fd: fd, bytes: try bytes(member("payload"), key: "payload", label: label))
        }
        call.outputs = []
        return call
    }
}
