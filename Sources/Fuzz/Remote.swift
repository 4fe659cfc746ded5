#if canImport(Glibc)
import Glibc
#endif
import Cases
import Layout

/// A reference that is a `uapi-fuzz-exec` serving a folder: in the VM lane
/// the guest runs it on the lane kernel and the folder is the shared one, so
/// the simulator and the generator run natively on the host and only the
/// ioctls run under TCG. Requests are `req-N`, answers `rsp-N`, in order.
package final class RemoteReference: FuzzReference {
    package let directory: String
    package let label: String
    /// Longest wait for one answer; `alive` is asked while waiting (the VM, the child still running).
    let timeout: Double
    let alive: () -> Bool
    private var next = 0
    /// Submitted and not collected: the scripts, and the vocabulary their answer is read with.
    private var pending: [Int: ([ReferenceScript], Vocabulary)] = [:]
    /// An answer larger than this is not one (a batch's is a few MiB).
    static let maxAnswer = 1 << 30

    /// Waits up to `helloTimeout` seconds for the executor's `hello` in `directory`.
    package init(directory: String, label: String = "kernel", timeout: Double = 600, helloTimeout: Double,
                 alive: @escaping () -> Bool) throws {
        self.directory = directory
        self.label = label
        self.timeout = timeout
        self.alive = alive
        var st = stat()
        guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw InputError("fuzz: --executor \(directory) is not a folder")
        }
        guard let hello = wait(for: "hello", keep: true, seconds: helloTimeout) else {
            throw InputError("fuzz: no uapi-fuzz-exec answered in \(directory) within \(Int(helloTimeout)) s")
        }
        guard hello.starts(with: Array("UCFH".utf8)),
              hello.count >= 5, UInt32(hello[4]) == Wire.version else {
            throw InputError("fuzz: \(directory)/hello is not from an uapi-fuzz-exec of wire version \(Wire.version)")
        }
    }

    package func submit(_ scripts: [ReferenceScript], vocabulary: Vocabulary) throws -> Int {
        let n = next
        next += 1
        pending[n] = (scripts, vocabulary)
        try publish(RemoteReference.name("req", n), Wire.request(scripts, vocabulary))
        return n
    }

    package func collect(_ ticket: Int) throws -> [ReferenceReport] {
        guard let (scripts, vocabulary) = pending.removeValue(forKey: ticket) else { return [] }
        guard let data = wait(for: RemoteReference.name("rsp", ticket), keep: false, seconds: timeout) else {
            throw InputError("fuzz: no answer \(ticket) from the executor in \(directory) (it stopped or timed out)")
        }
        if data.starts(with: Array("UCFE".utf8)) {
            throw InputError("fuzz: the executor refused request \(ticket): "
                             + String(decoding: data.dropFirst(4), as: UTF8.self))
        }
        guard let reports = Wire.reports(data, scripts, vocabulary) else {
            throw InputError("fuzz: answer \(ticket) from the executor in \(directory) is malformed")
        }
        return reports
    }

    /// Tells the executor to stop.
    package func finish(_ vocabulary: Vocabulary) {
        try? publish(RemoteReference.name("req", next), Wire.request([], vocabulary, quit: true))
        next += 1
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// `req-00000012`: what the executor looks for.
    static func name(_ kind: String, _ n: Int) -> String {
        let digits = String(n)
        return kind + "-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Writes `name` through a temporary and a rename, so the executor never reads half of it.
    func publish(_ name: String, _ bytes: [UInt8]) throws {
        let tmp = path(name + ".tmp")
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw InputError("fuzz: cannot write \(tmp): \(String(cString: strerror(errno)))") }
        var done = 0
        bytes.withUnsafeBytes { p in
            while done < p.count {
                let w = Glibc.write(fd, p.baseAddress! + done, p.count - done)
                if w <= 0 { break }
                done += w
            }
        }
        let closed = Glibc.close(fd) == 0
        guard closed, done == bytes.count, rename(tmp, path(name)) == 0 else {
            unlink(tmp)
            throw InputError("fuzz: cannot write \(path(name))")
        }
    }

    /// The contents of `name` once it exists (removed unless `keep`); nil after `seconds`, or when `alive`
    /// says no.
    func wait(for name: String, keep: Bool, seconds: Double) -> [UInt8]? {
        let file = path(name)
        var pause: UInt32 = 50
        var waited = 0.0
        while waited < seconds {
            if let data = RemoteReference.read(file) {
                if !keep { unlink(file) }
                return data
            }
            if !alive() { return RemoteReference.read(file) }
            usleep(pause)
            waited += Double(pause) / 1e6
            pause = min(pause * 2, 2_000)
        }
        return nil
    }

    /// The whole file, at most `maxAnswer` bytes (more reads as what it is not: an answer).
    static func read(_ file: String) -> [UInt8]? {
        let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while out.count <= maxAnswer {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}

extension RemoteReference {
    /// Whether the executor's kernel has the selftest mock: IOMMU_TEST_CMD of
    /// size 0 is EINVAL there and ENOTTY where the command does not exist.
    /// Opening /dev/iommu there must work at all.
    package func hasMock(_ v: Vocabulary) throws -> Bool {
        guard let test = v.ops.firstIndex(where: \.isTestCommand) else { return false }
        let call = FuzzCall(serial: 0, op: test, bytes: [0, 0, 0, 0], null: false, patches: [])
        let reports = try collect(try submit([ReferenceScript(opensVfio: false, steps: [.call(call)])], vocabulary: v))
        guard let r = reports.first else { throw InputError("fuzz: the executor sent no report") }
        if let e = r.openError { throw InputError("fuzz: executor's kernel: \(e)") }
        return r.outcomes.first?.result.errno != .ENOTTY
    }
}
