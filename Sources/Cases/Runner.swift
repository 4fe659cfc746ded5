import Layout

/// What the system under test offers. The simulated backend offers
/// everything; a live backend fills this from a probe (/sys/bus/iommufd_mock,
/// the vfio device list, the process's capabilities).
package struct CapabilityProbe: Sendable, Hashable {
    /// CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD and its MOCK_DOMAIN device.
    package var mockDevice: Bool
    /// A PCI device bound to vfio-pci whose cdev the run may open (vfio0).
    package var pciDevice: Bool
    /// A TSM-capable PCI device bound to vfio-pci (vfio0, and vfio1 without KVM).
    package var tsmDevice: Bool
    /// "root", "CAP_SYS_RESOURCE", …
    package var capabilities: Set<String>
    /// Ioctls the kernel answered with ENOTTY: cases using them are skipped.
    package var absentIoctls: Set<String> = []
    /// Why a mock that exists cannot serve (`mockDevice` false): the skip reason.
    package var mockUnusable: String?
    /// A CONFIG_IOMMUFD_TEST kernel, whether or not its mock can bind a device
    /// (its syzkaller hooks answer either way).
    package var testKernel: Bool { mockDevice || mockUnusable != nil }

    package init(mockDevice: Bool, pciDevice: Bool, tsmDevice: Bool, capabilities: Set<String>,
                 absentIoctls: Set<String> = []) {
        self.mockDevice = mockDevice; self.pciDevice = pciDevice; self.tsmDevice = tsmDevice
        self.capabilities = capabilities
        self.absentIoctls = absentIoctls
    }
    package static let everything = CapabilityProbe(mockDevice: true, pciDevice: true, tsmDevice: true,
                                                    capabilities: ["root", "CAP_SYS_RESOURCE", "CAP_SYS_RAWIO",
                                                                   "CAP_SYS_ADMIN"])
    package static let nothing = CapabilityProbe(mockDevice: false, pciDevice: false, tsmDevice: false,
                                                 capabilities: [])
}

/// A backend that knows what it offers adopts this; the runner asks it
/// unless told otherwise.
package protocol CapabilityProviding: AnyObject {
    var capabilityProbe: CapabilityProbe { get }
}

/// A case resolved against the runner's profile, ready to run many times.
package struct PreparedCase: Sendable {
    package var source: ConformanceCase
    package var expected: Outcome
    /// Set when the case cannot run here (SKIP).
    package var skip: String?
    package var setup: [SetupStep]
    package var before: [CompiledCall]
    package var call: CompiledCall?
}

package enum CompiledSetupAction: Sendable {
    case open(path: String, target: CallTarget)
    case call(CompiledCall)
}

package final class CaseRunner {
    package let backend: Backend
    package let profile: Profile
    package let probe: CapabilityProbe
    private var setupCache: [SetupStep: Result<[CompiledSetupAction], InputError>] = [:]
    private let destroyRequest: UInt64?

    /// Whether `*_uptr` buffers are real memory (live kernels).
    let realMemory: Bool
    /// Run right before and right after the checked call of every case (not
    /// around setup or teardown): fault injection arms and disarms here.
    package var beforeCheckedCall: (() -> Void)?
    package var afterCheckedCall: (() -> Void)?

    package init(backend: Backend, profile: Profile, probe: CapabilityProbe? = nil) {
        realMemory = backend.needsRealUserMemory
        self.backend = backend
        self.profile = profile
        self.probe = probe ?? (backend as? CapabilityProviding)?.capabilityProbe ?? .everything
        destroyRequest = profile.ioctl("IOMMU_DESTROY").map { ioRequest(type: $0.type, nr: $0.nr) }
    }

    // MARK: preparing

    private func compiledSetup(_ step: SetupStep) -> Result<[CompiledSetupAction], InputError> {
        if let r = setupCache[step] { return r }
        let r: Result<[CompiledSetupAction], InputError>
        do {
            r = .success(try step.actions(profile: profile).map { a -> CompiledSetupAction in
                switch a {
                case .open(let p, let t): return .open(path: p, target: t)
                case .call(let c): return .call(try Compiler.compile(c, profile: profile,
                                                                     context: "setup \(step.rawValue)"))
                }
            })
        } catch let e as InputError { r = .failure(e) } catch { r = .failure(InputError("\(error)")) }
        setupCache[step] = r
        return r
    }

    package func prepare(_ cases: [ConformanceCase]) -> [PreparedCase] {
        cases.map { c in
            var p = PreparedCase(source: c, expected: c.expected(for: profile.name, testKernel: probe.testKernel),
                                 skip: skipReason(c),
                                 setup: SetupStep.chain(c.setup), before: [], call: nil)
            guard p.skip == nil else { return p }
            for s in p.setup {
                if case .failure(let e) = compiledSetup(s) { p.skip = "setup \(s.rawValue): \(e.message)"; return p }
            }
            do {
                p.before = try c.before.map { try Compiler.compile($0, profile: profile, context: c.id) }
                p.call = try Compiler.compile(c.call, profile: profile, context: c.id)
            } catch {
                p.skip = "\(error)"
            }
            return p
        }
    }

    // MARK: running

    /// Runs `cases` (those whose id matches `filter`: a glob with `*`, else a
    /// substring) and returns one result per case, in order.
    package func run(_ cases: [ConformanceCase], filter: String? = nil) -> [CaseResult] {
        run(prepared: prepare(CaseRunner.select(cases, filter: filter)))
    }

    package func run(prepared: [PreparedCase]) -> [CaseResult] {
        var out: [CaseResult] = []
        out.reserveCapacity(prepared.count)
        for p in prepared { out.append(run(p)) }
        return out
    }

    package static func select(_ cases: [ConformanceCase], filter: String?) -> [ConformanceCase] {
        guard let f = filter, !f.isEmpty else { return cases }
        if f.contains("*") { return cases.filter { glob(f, $0.id) } }
        return cases.filter { $0.id.contains(f) }
    }

    /// `*` matches any run of characters, so `**` is the same as `*`.
    static func glob(_ pattern: String, _ s: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        var rest = Substring(s)
        for (i, part) in parts.enumerated() {
            if i == 0 { guard rest.hasPrefix(part) else { return false }; rest = rest.dropFirst(part.count); continue }
            if i == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            // Between two stars: an empty part (from `**`) matches at once.
            if part.isEmpty { continue }
            guard let r = rest.range(of: part) else { return false }
            rest = rest[r.upperBound...]
        }
        return rest.isEmpty
    }

    static let iommufdSlot = RefSlots.slot("iommufd")

    /// One slot per call target. Hashing the String-backed CallTarget key on
    /// every call was a visible cost of the simulated benchmark.
    private struct TargetFds {
        var iommufd, vfio, vfio1: Int32?
        subscript(_ t: CallTarget) -> Int32? {
            get { switch t { case .iommufd: iommufd; case .vfio: vfio; case .vfio1: vfio1 } }
            set {
                switch t {
                case .iommufd: iommufd = newValue
                case .vfio: vfio = newValue
                case .vfio1: vfio1 = newValue
                }
            }
        }
    }

    /// What teardown releases: an object to destroy or an fd to close, and its name.
    private typealias Cleanup = (kind: Call.Output.Kind, value: UInt64, name: String)

    private struct Ctx {
        var names = [UInt64?](repeating: nil, count: RefSlots.count)
        var fds = TargetFds()
        // Sized up front: growing it per case showed up in profiles.
        var cleanup: [Cleanup] = { var a: [Cleanup] = []; a.reserveCapacity(16); return a }()
        let memory: UserMemory
        /// What the last call with `written` checks left wrong.
        var mismatches: [String] = []
        init(memory: UserMemory) { self.memory = memory }
    }

    /// The `written` checks of `c` against the struct it got back and the
    /// buffers its patches point to; one line per field that is not as stated.
    static func check(_ c: CompiledCall, _ arg: [UInt8]?, _ buffers: [UInt64], _ memory: UserMemory) -> [String] {
        var out: [String] = []
        for w in c.written {
            switch w.value {
            case .int(let want):
                let got = CompiledCall.load(arg ?? [], at: w.offset, width: w.width)
                if got != want { out.append("\(w.field) = \(Written.int(got)), wanted \(Written.int(want))") }
            case .bytes(let want):
                guard w.patch >= 0, w.patch < buffers.count else { continue }
                let got = memory.read(buffers[w.patch], want.count) ?? []
                if got != want { out.append("\(w.field) buffer \(Written.bytes(got)), wanted \(Written.bytes(want))") }
            }
        }
        return out
    }

    private struct StepError: Error { var message: String }

    private static func gotText(_ r: SyscallResult) -> String {
        r.failed ? r.errno.name : (r.value == 0 ? "OK" : "OK(\(r.value))")
    }

    /// One call with its patches applied; records outputs on success. A
    /// call with `written` checks returns what they found wrong in `mismatches`.
    private func exec(_ c: CompiledCall, _ ctx: inout Ctx) throws -> SyscallResult {
        if let io = c.fileIO {
            guard c.fdSlot >= 0, let v = ctx.names[c.fdSlot] else {
                throw StepError(message: "$\(io.fd) is not defined")
            }
            let fd = Int32(truncatingIfNeeded: v)
            switch io {
            case .read(_, let count): return backend.read(fd, count: count)
            case .write(_, let bytes): return backend.write(fd, bytes)
            }
        }
        guard let fd = ctx.fds[c.target] else { throw StepError(message: "no \(c.target.rawValue) descriptor") }
        var arg = c.bytes
        var buffers: [UInt64] = []
        if var bytes = arg {
            for p in c.patches {
                let v: UInt64
                switch p.value {
                case .int(let x): v = x
                case .ref(let r):
                    if p.slot >= 0, let x = ctx.names[p.slot] { v = x }
                    else if let t = CallTarget(rawValue: r), let f = ctx.fds[t] { v = UInt64(UInt32(bitPattern: f)) }
                    else { throw StepError(message: "$\(r) is not defined by the setup") }
                case .buffer(let n): v = ctx.memory.allocate([UInt8](repeating: 0, count: n))
                case .bytes(let b): v = ctx.memory.allocate(b)
                case .data(let d): v = ctx.memory.allocate(d.contents) &+ UInt64(d.offset)
                }
                if !c.written.isEmpty { buffers.append(v) }
                CompiledCall.store(v, into: &bytes, at: p.offset, width: p.width)
            }
            arg = bytes
        }
        let r = backend.ioctl(fd, c.request, &arg, memory: ctx.memory)
        if !c.written.isEmpty { ctx.mismatches = CaseRunner.check(c, arg, buffers, ctx.memory) }
        guard !r.failed else { return r }
        let bytes = arg ?? []
        for o in c.outputs {
            let v = o.kind == .returnedFd ? UInt64(r.value) : CompiledCall.load(bytes, at: o.offset, width: o.width)
            if o.slot >= 0 { ctx.names[o.slot] = v }
            if o.kind != .implicit { ctx.cleanup.append((o.kind, v, o.name ?? o.kind.rawValue)) }
        }
        if let gone = c.consumes, let i = ctx.cleanup.lastIndex(where: { $0.name == gone && $0.kind == .object }) {
            ctx.cleanup.remove(at: i)
        }
        return r
    }

    private func setUp(_ step: SetupStep, _ ctx: inout Ctx) throws {
        guard case .success(let actions) = compiledSetup(step) else {
            throw StepError(message: "\(step.rawValue) does not compile")
        }
        for a in actions {
            switch a {
            case .open(let path, let target):
                let r = backend.open(path)
                if r.failed { throw StepError(message: "\(step.rawValue): open \(path) → \(r.errno.name)") }
                ctx.fds[target] = Int32(r.value)
                ctx.cleanup.append((.fd, UInt64(r.value), target.rawValue))
            case .call(let c):
                let r = try exec(c, &ctx)
                if r.failed { throw StepError(message: "\(step.rawValue): \(c.ioctl) → \(r.errno.name)") }
            }
        }
    }

    /// Destroys every object and closes every fd the case created, newest
    /// first; returns what could not be released.
    private func tearDown(_ ctx: inout Ctx) -> [String] {
        var leftovers: [String] = []
        for e in ctx.cleanup.reversed() {
            switch e.kind {
            case .object:
                guard let req = destroyRequest,
                      let fd = ctx.fds[.iommufd] else { leftovers.append("$\(e.name)"); continue }
                // struct iommu_destroy { __u32 size = 8; __u32 id; }
                var destroy: [UInt8] = [8, 0, 0, 0, 0, 0, 0, 0]
                CompiledCall.store(e.value, into: &destroy, at: 4, width: 4)
                var arg: [UInt8]? = destroy
                let r = backend.ioctl(fd, req, &arg, memory: ctx.memory)
                if r.failed { leftovers.append("destroy $\(e.name) → \(r.errno.name)") }
            case .fd, .returnedFd:
                let r = backend.close(Int32(truncatingIfNeeded: e.value))
                if r.failed { leftovers.append("close \(e.name) → \(r.errno.name)") }
            case .implicit: break
            }
        }
        ctx.cleanup.removeAll()
        return leftovers
    }

    package func run(_ p: PreparedCase) -> CaseResult {
        let id = p.source.id, expected = p.expected.description
        if let s = p.skip { return CaseResult(id: id, status: .skip, got: nil, expected: expected, reason: s) }
        guard let call = p.call else {
            return CaseResult(id: id, status: .skip, got: nil, expected: expected, reason: "not compiled")
        }
        var ctx = Ctx(memory: realMemory ? UserMemory(real: true) : UserMemory())
        let o = backend.open(DeviceNodes.iommu)
        if o.failed {
            return CaseResult(id: id, status: .fail, got: nil, expected: expected,
                              reason: "setup: open \(DeviceNodes.iommu) → \(o.errno.name)")
        }
        let iommufd = Int32(o.value)
        ctx.fds[.iommufd] = iommufd
        ctx.names[CaseRunner.iommufdSlot] = UInt64(UInt32(bitPattern: iommufd))
        defer { _ = backend.close(iommufd) }
        do {
            for s in p.setup { try setUp(s, &ctx) }
            for b in p.before {
                let r = try exec(b, &ctx)
                if !b.expect.matches(r) {
                    throw StepError(message: "\(b.ioctl) → \(CaseRunner.gotText(r)), wanted \(b.expect)")
                }
            }
        } catch let e as StepError {
            let left = tearDown(&ctx)
            return CaseResult(id: id, status: .fail, got: nil, expected: expected,
                              reason: "setup: \(e.message)"
                                  + (left.isEmpty ? "" : "; teardown: " + left.joined(separator: ", ")))
        } catch {
            _ = tearDown(&ctx)
            return CaseResult(id: id, status: .fail, got: nil, expected: expected, reason: "setup: \(error)")
        }
        let r: SyscallResult
        beforeCheckedCall?()
        do { r = try exec(call, &ctx); afterCheckedCall?() } catch {
            afterCheckedCall?()
            _ = tearDown(&ctx)
            return CaseResult(id: id, status: .fail, got: nil, expected: expected,
                              reason: "setup: \((error as? StepError)?.message ?? "\(error)")")
        }
        let got = CaseRunner.gotText(r)
        let left = tearDown(&ctx)
        if !p.expected.matches(r) {
            return CaseResult(id: id, status: .fail, got: got, expected: expected,
                              reason: "expected \(expected), got \(got)"
                                  + (left.isEmpty ? "" : "; teardown: " + left.joined(separator: ", ")))
        }
        if !ctx.mismatches.isEmpty {
            return CaseResult(id: id, status: .fail, got: got + " (" + ctx.mismatches.joined(separator: "; ") + ")",
                              expected: expected, reason: "written: " + ctx.mismatches.joined(separator: "; "))
        }
        if !left.isEmpty {
            return CaseResult(id: id, status: .fail, got: got, expected: expected,
                              reason: "teardown: " + left.joined(separator: ", "))
        }
        return CaseResult(id: id, status: .pass, got: got, expected: expected, reason: "")
    }

    // MARK: throughput

    /// Runs the profile's catalogue `rounds` times on `backend` (cases
    /// prepared once) and reports cases per second.
    package static func benchmark(backend: Backend, profile: Profile, rounds: Int = 20,
                                  fixtures: String? = nil) throws -> (cases: Int, seconds: Double, perSecond: Double) {
        let runner = CaseRunner(backend: backend, profile: profile)
        let prepared = runner.prepare(try Catalogue.cases(for: profile, fixtures: fixtures))
        _ = runner.run(prepared: prepared)  // warm-up
        let clock = ContinuousClock()
        let start = clock.now
        var n = 0
        for _ in 0..<max(rounds, 1) { n += runner.run(prepared: prepared).count }
        let s = (clock.now - start).seconds
        return (n, s, s > 0 ? Double(n) / s : 0)
    }
}

extension Duration {
    /// The duration in (fractional) seconds, for reports and rates.
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
