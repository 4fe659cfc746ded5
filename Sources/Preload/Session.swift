import CPreload
import Cases
import Foundation
import Layout
import SimulatedBackend

/// The simulated kernel this process talks to through /dev/iommu: one per process image, made on the first
/// open of a simulated node from the profile sim-exec names (UAPI_SIM_PROFILE in UAPI_SIM_FIXTURES). A forked
/// child keeps its copy, as it keeps its descriptors. Every entry point runs under the interposer's lock.
final class Session: HostFiles {
    let kernel: SimulatedKernel
    let own = OwnMemory()
    lazy var memory = UserMemory(space: own)
    /// Descriptors whose eventfd is signalled readable.
    var signalled: Set<Int32> = []

    /// UAPI_SIM_TRACE set: each simulated call and its outcome on stderr.
    let trace = ProcessInfo.processInfo.environment["UAPI_SIM_TRACE"] != nil

    init(kernel: SimulatedKernel) { self.kernel = kernel }

    func log(_ line: String) { FileHandle.standardError.write(Data("uapi-sim: \(line)\n".utf8)) }

    nonisolated(unsafe) static var current: Session?
    nonisolated(unsafe) static var failed = false

    /// The session, made on first use; nil (with one line on stderr, once) when the profile does not load.
    static func get() -> Session? {
        if let current { return current }
        if failed { return nil }
        do {
            let env = ProcessInfo.processInfo.environment
            guard let name = env["UAPI_SIM_PROFILE"], let dir = env["UAPI_SIM_FIXTURES"] else {
                throw InputError("UAPI_SIM_PROFILE and UAPI_SIM_FIXTURES are not set (run through sim-exec)")
            }
            let profile = try ProfileStore(directory: dir + "/profiles").resolved(name)
            let s = Session(kernel: try SimulatedKernel(profile: profile))
            s.kernel.host = s
            current = s
            return s
        } catch {
            failed = true
            let msg = (error as? InputError)?.message ?? "\(error)"
            FileHandle.standardError.write(Data("uapi-sim: error: \(msg); /dev/iommu is absent\n".utf8))
            return nil
        }
    }

    // MARK: HostFiles

    func reserve(cloexec: Bool) -> Int32? {
        let fd = uc_preload_reserve(cloexec ? 1 : 0)
        guard fd >= 0 else { return nil }
        uc_preload_mark(fd, 1)
        return fd
    }

    func size(ofRealFile fd: Int32) -> UInt64? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return UInt64(max(st.st_size, 0))
    }

    func fileKey(of fd: Int32) -> FileKey? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
    }

    func userMappings() -> [UserMapping] { ProcMaps.read() }

    /// Make each queue's eventfd poll readable exactly while it has something to read.
    func syncReadiness() {
        let now = Set(kernel.readableDescriptors)
        for fd in now.subtracting(signalled) { uc_preload_signal(fd, 1) }
        for fd in signalled.subtracting(now) where kernel.isSimulated(fd) { uc_preload_signal(fd, 0) }
        signalled = now
    }
}

/// This process's memory, through the interposer's process_vm_readv/writev.
final class OwnMemory: AddressSpace {
    func mapped(_ addr: UInt64, _ count: UInt64) -> Bool { uc_mem_mapped(addr, count) != 0 }

    func readPrefix(_ addr: UInt64, _ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { uc_mem_read($0.baseAddress, addr, count) }
        return n == count ? out : Array(out.prefix(n))
    }

    func write(_ addr: UInt64, _ data: [UInt8]) -> Bool {
        data.isEmpty || data.withUnsafeBytes { uc_mem_write(addr, $0.baseAddress, data.count) } == 0
    }
}

/// /proc/self/maps: "start-end perms offset major:minor inode path", one mapping a line.
enum ProcMaps {
    static func read() -> [UserMapping] {
        guard let text = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap(parse)
    }

    static func parse(_ line: Substring) -> UserMapping? {
        let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard f.count >= 5 else { return nil }
        let range = f[0].split(separator: "-"), dev = f[3].split(separator: ":")
        guard range.count == 2, dev.count == 2, let start = UInt64(range[0], radix: 16),
              let end = UInt64(range[1], radix: 16), let offset = UInt64(f[2], radix: 16),
              let major = UInt64(dev[0], radix: 16), let minor = UInt64(dev[1], radix: 16),
              let ino = UInt64(f[4]) else { return nil }
        let key = ino == 0 ? nil : FileKey(dev: makedev(major, minor), ino: ino)
        return UserMapping(start: start, end: end, offset: offset, file: key)
    }

    /// glibc's makedev, as fstat reports st_dev.
    static func makedev(_ major: UInt64, _ minor: UInt64) -> UInt64 {
        (major & 0xffff_f000) << 32 | (major & 0xfff) << 8 | (minor & 0xffff_ff00) << 12 | (minor & 0xff)
    }
}
