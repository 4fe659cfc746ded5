import Layout

/// What a call must return: "OK" (0), "OK(n)" (a positive return such as a
/// residue), "OK(*)" (any non-negative value: a new fd, a residue the
/// backend chooses) or an errno.
package enum Outcome: Sendable, Hashable, CustomStringConvertible {
    case ok
    case okValue(Int)
    case okAny
    case errno(Errno)

    package var description: String {
        switch self {
        case .ok: return "OK"
        case .okValue(let n): return "OK(\(n))"
        case .okAny: return "OK(*)"
        case .errno(let e): return e.name
        }
    }

    package func matches(_ r: SyscallResult) -> Bool {
        switch self {
        case .ok: return r.value == 0 && !r.failed
        case .okValue(let n): return !r.failed && r.value == n
        case .okAny: return !r.failed
        case .errno(let e): return r.failed && r.errno == e
        }
    }

    package var succeeds: Bool { if case .errno = self { return false }; return true }

    /// Parses "OK", "OK(3)", "OK(*)" or an errno name; nil if unknown. A
    /// success returns no negative value, so "OK(-5)" is refused.
    package init?(_ text: String) {
        if text == "OK" { self = .ok; return }
        if text == "OK(*)" { self = .okAny; return }
        if text.hasPrefix("OK("), text.hasSuffix(")") {
            let digits = text.dropFirst(3).dropLast()
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                  let n = Int(digits) else {
                return nil
            }
            self = .okValue(n)
            return
        }
        guard let e = Errno(name: text) else { return nil }
        self = .errno(e)
    }

    package static let EINVAL = Outcome.errno(.EINVAL), ENOENT = Outcome.errno(.ENOENT)
    package static let EOPNOTSUPP = Outcome.errno(.EOPNOTSUPP), E2BIG = Outcome.errno(.E2BIG)
    package static let EFAULT = Outcome.errno(.EFAULT), ENOTTY = Outcome.errno(.ENOTTY)
    package static let ENODEV = Outcome.errno(.ENODEV), ENXIO = Outcome.errno(.ENXIO)
    package static let EOVERFLOW = Outcome.errno(.EOVERFLOW), EBUSY = Outcome.errno(.EBUSY)
    package static let EEXIST = Outcome.errno(.EEXIST), EBADF = Outcome.errno(.EBADF)
}

/// A field's value in a case: a number (stored as the field's bit pattern),
/// a reference to a setup object or fd (`$ioas`, `$iommufd`), a zeroed
/// user buffer of n bytes (or of the given bytes) whose address is filled in
/// at run time, or a user buffer with contents and the address of one of its bytes.
package enum FieldValue: Sendable, Hashable, CustomStringConvertible {
    case int(UInt64)
    case ref(String)
    case buffer(Int)
    case bytes([UInt8])
    case data(UserBytes)

    package static func neg(_ v: Int64) -> FieldValue { .int(UInt64(bitPattern: v)) }

    package var description: String {
        switch self {
        case .int(let v): return v > 0xffff ? "0x" + String(v, radix: 16) : "\(v)"
        case .ref(let n): return "$" + n
        case .buffer(let n): return "buf[\(n)]"
        case .bytes(let b): return "buf[\(b.count) set]"
        case .data(let d): return "buf[\(d.size)]" + (d.offset == 0 ? "" : "+\(d.offset)")
        }
    }
}

/// User memory of `size` bytes starting with `bytes` (the rest zero); the
/// field gets the address of byte `offset` (0...size).
package struct UserBytes: Sendable, Hashable {
    package var bytes: [UInt8]
    package var size: Int
    package var offset: Int
    package init(bytes: [UInt8], size: Int, offset: Int) { self.bytes = bytes; self.size = size; self.offset = offset }

    /// The buffer's initial contents, `size` bytes.
    package var contents: [UInt8] {
        bytes.count >= size ? Array(bytes.prefix(size)) : bytes + [UInt8](repeating: 0, count: size - bytes.count)
    }
}

/// What a checked call must have left in a struct field: a value, or for a
/// pointer field the bytes of the buffer it points to.
package enum Written: Sendable, Hashable, CustomStringConvertible {
    case int(UInt64)
    case bytes([UInt8])

    package var description: String {
        switch self {
        case .int(let v): return v > 0xffff ? "0x" + String(v, radix: 16) : "\(v)"
        case .bytes(let b): return CaseFile.hex(b)
        }
    }
}

/// What a case needs from the system under test; unmet → SKIP with a reason.
package struct Requirements: Sendable, Hashable {
    /// Profiles the case applies to; nil = every profile that has the ioctl.
    package var profiles: Set<String>?
    /// Needs CONFIG_IOMMUFD_TEST (IOMMU_TEST_CMD MOCK_DOMAIN).
    package var mockDevice = false
    /// Needs a PCI device bound to vfio-pci as vfio0 (its cdev).
    package var pciDevice = false
    /// Needs that device to have a TSM behind it (vfio0 on the simulator).
    package var tsmDevice = false
    /// Capabilities such as "CAP_SYS_RESOURCE".
    package var capabilities: Set<String> = []

    package init(profiles: Set<String>? = nil, mockDevice: Bool = false, tsmDevice: Bool = false,
                 capabilities: Set<String> = []) {
        self.profiles = profiles; self.mockDevice = mockDevice; self.tsmDevice = tsmDevice
        self.capabilities = capabilities
    }
}

/// Which descriptor the call goes to.
package enum CallTarget: String, Sendable, Hashable {
    case iommufd
    /// The vfio0 device fd ($vfio).
    case vfio
    /// The vfio1 device fd (PCI + TSM, no KVM), opened by `nokvm_vdevice`.
    case vfio1
}

/// read(2) or write(2) on a descriptor a setup step or an earlier call
/// named (`$fault_fd`): the event queues are read and answered this way.
package enum FileIO: Sendable, Hashable {
    case read(fd: String, count: Int)
    case write(fd: String, bytes: [UInt8])

    package var fd: String { switch self { case .read(let f, _), .write(let f, _): return f } }
    package var name: String { if case .read = self { return "read" }; return "write" }
}

/// One ioctl as data: fields by name, on the profile's LP64 layout (or a
/// read/write on a descriptor: `fileIO`, with `ioctl` "read" or "write").
package struct Call: Sendable, Hashable {
    package var ioctl: String
    package var fileIO: FileIO?
    package var fields: [String: FieldValue]
    /// The struct's size word; nil = sizeof(struct) (+ tail, + payload).
    package var size: Int?
    /// Bytes appended after the struct (past sizeof), counted in the size.
    package var tail: [UInt8]
    /// Bytes after the struct that belong to it (a flexible-array payload).
    package var payload: [UInt8]
    /// Bytes set directly (an implicit hole no field names): offset → byte.
    package var rawBytes: [Int: UInt8] = [:]
    /// Pass a NULL argument instead of the struct.
    package var nullArg: Bool
    package var target: CallTarget
    package var expect: Outcome
    /// A setup name this call destroys when it succeeds (IOMMU_DESTROY of $ioas).
    package var consumes: String?
    /// Output fields the runner must clean up on success: field → what it
    /// holds ("object" ids go to IOMMU_DESTROY, "fd" values are closed), and
    /// the `$name` later calls may use.
    package var outputs: [Output]
    /// Struct fields (and buffers of pointer fields) the call must leave so.
    package var written: [String: Written] = [:]

    package struct Output: Sendable, Hashable {
        package var field: String
        package var kind: Kind
        package var name: String?
        /// object: IOMMU_DESTROY at teardown; fd: close the fd in the field;
        /// returnedFd: close the ioctl's return value; implicit: only name it
        /// (released with its owner: the mock's device and auto HWPT, a vfio bind).
        package enum Kind: String, Sendable, Hashable { case object, fd, returnedFd, implicit }
        package init(_ field: String, _ kind: Kind,
                     name: String? = nil) { self.field = field; self.kind = kind; self.name = name }
    }

    package init(_ ioctl: String, _ fields: [String: FieldValue] = [:], size: Int? = nil, tail: [UInt8] = [],
                 payload: [UInt8] = [], nullArg: Bool = false, target: CallTarget = .iommufd, expect: Outcome = .ok,
                 consumes: String? = nil, outputs: [Output] = []) {
        self.ioctl = ioctl; self.fields = fields; self.size = size; self.tail = tail; self.payload = payload
        self.nullArg = nullArg; self.target = target; self.expect = expect
        self.consumes = consumes; self.outputs = outputs
    }
}

/// A conformance case: a stable dotted id, requirements, setup, optional
/// preparatory calls that must succeed as stated, and the call under test
/// with its expected outcome (per profile where it differs).
package struct ConformanceCase: Sendable, Hashable {
    package var id: String
    package var requirements: Requirements
    package var setup: [SetupStep]
    /// Calls after setup and before the checked call (a bind, a destroy);
    /// a mismatch there is a setup failure, not the verdict.
    package var before: [Call]
    package var call: Call
    /// Expected outcome overrides per profile name; `call.expect` otherwise.
    package var expectByProfile: [String: Outcome]
    /// Note section or seed file + line the expectation comes from.
    package var reference: String
    /// One line for humans (`explain`, reports).
    package var summary: String
    /// What a kernel built with CONFIG_IOMMUFD_TEST does instead, where its
    /// test hooks change the answer (nil: the same).
    package var expectOnTestKernel: Outcome?

    package init(id: String, requirements: Requirements = Requirements(), setup: [SetupStep] = [], before: [Call] = [],
                 call: Call, expectByProfile: [String: Outcome] = [:], reference: String, summary: String = "") {
        self.id = id; self.requirements = requirements; self.setup = setup; self.before = before; self.call = call
        self.expectByProfile = expectByProfile; self.reference = reference; self.summary = summary
        let chain = SetupStep.chain(setup)
        if chain.contains(where: \.needsMock) { self.requirements.mockDevice = true }
        if chain.contains(where: \.needsPciDevice) || call.target != .iommufd { self.requirements.pciDevice = true }
        if chain.contains(where: \.needsTsmDevice) || call.target == .vfio1 { self.requirements.tsmDevice = true }
    }

    package var ioctl: String { call.ioctl }
    package func expected(for profile: String) -> Outcome { expectByProfile[profile] ?? call.expect }

    /// The expectation on `profile` for a kernel with or without the selftest build.
    package func expected(for profile: String, testKernel: Bool) -> Outcome {
        testKernel ? expectOnTestKernel ?? expected(for: profile) : expected(for: profile)
    }
}

extension Call.Output {
    /// What a successful `ioctl` creates, read off its struct in `profile`:
    /// each `out_*_id` field names a new object (IOMMU_DESTROY at teardown),
    /// each `out_*` fd field (profile `fd_fields`) a new descriptor (closed).
    /// The selftest command's ids belong to its mock device and vfio's
    /// `out_devid` to the bind: both are released with their owner.
    package static func created(by ioctl: String, profile: Profile) -> [Call.Output] {
        guard ioctl != "IOMMU_TEST_CMD", let io = profile.ioctl(ioctl), let s = profile.structure(io.struct) else {
            return []
        }
        return s.lp64.fields.compactMap { f in
            guard f.name.hasPrefix("out_") else { return nil }
            if s.fdFields.contains(f.name) { return .init(f.name, .fd) }
            if f.name.hasSuffix("_id") { return .init(f.name, .object) }
            return nil
        }
    }
}
