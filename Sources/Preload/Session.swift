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
    lazy var own = OwnMemory(session: self)
    lazy var memory = UserMemory(space: own)
    /// Descriptors whose eventfd is signalled readable.
    var signalled: Set<Int32> = []
    var maps: [UserMapping]?
    var mapsGeneration: UInt = 0
    /// Mapped regions of simulated files: where, and the hold on their owner until munmap.
    var regions: [(start: UInt, length: Int, hold: MmapHold)] = []

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

    func realFile(_ fd: Int32) -> (size: UInt64, key: FileKey)? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return (UInt64(max(st.st_size, 0)), FileKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino)))
    }

    /// /proc/self/maps as of the last mmap or munmap the interposer saw.
    func userMappings() -> [UserMapping] {
        let now = uc_preload_map_generation()
        if mapsGeneration != now || maps == nil {
            maps = ProcMaps.read()
            mapsGeneration = now
        }
        return maps ?? []
    }

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
    unowned let session: Session
    init(session: Session) { self.session = session }

    /// Mapped, and readable: the kernel cannot pin a PROT_NONE page (a guard page) either.
    func mapped(_ addr: UInt64, _ count: UInt64) -> Bool {
        guard uc_mem_mapped(addr, count) != 0 else { return false }
        guard count > 0 else { return true }
        let end = addr &+ count
        return !session.userMappings().contains { $0.start < end && addr < $0.end && !$0.readable }
    }

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

/// /proc/self/maps: "start-end perms offset major:minor inode path", one mapping a line, parsed as bytes.
enum ProcMaps {
    static func read() -> [UserMapping] {
        // Read to the end: a proc file has no size, and String(contentsOfFile:) stops after the first page.
        guard let h = FileHandle(forReadingAtPath: "/proc/self/maps"), let data = try? h.readToEnd() else { return [] }
        try? h.close()
        var out: [UserMapping] = []
        data.withUnsafeBytes { raw in
            var s = Scanner(bytes: raw.bindMemory(to: UInt8.self))
            while !s.atEnd {
                if let m = s.line() { out.append(m) }
                s.skipLine()
            }
        }
        return out
    }

    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0
        var atEnd: Bool { i >= bytes.count }

        /// A hexadecimal (or, with radix 10, decimal) number, then one separator byte.
        mutating func number(_ radix: UInt64 = 16) -> UInt64? {
            var v: UInt64 = 0, digits = 0
            while i < bytes.count, let d = Scanner.digit(bytes[i], radix) { v = v &* radix &+ d; i += 1; digits += 1 }
            i += 1
            return digits > 0 ? v : nil
        }

        static func digit(_ c: UInt8, _ radix: UInt64) -> UInt64? {
            switch c {
            case 48...57: return UInt64(c - 48)
            case 97...102 where radix == 16: return UInt64(c - 87)
            default: return nil
            }
        }

        mutating func skipField() { while i < bytes.count, bytes[i] != 32 { i += 1 }; i += 1 }
        mutating func skipLine() { while i < bytes.count, bytes[i] != 10 { i += 1 }; i += 1 }

        /// One line's mapping; the scanner stays on that line.
        mutating func line() -> UserMapping? {
            guard let start = number(), let end = number() else { return nil }
            let readable = i < bytes.count && bytes[i] == 114  // "r"
            skipField()
            guard let offset = number(), let major = number(), let minor = number(), let ino = number(10) else {
                return nil
            }
            i -= 1  // the byte after the inode may end the line
            let key = ino == 0 ? nil : FileKey(dev: makedev(major, minor), ino: ino)
            return UserMapping(start: start, end: end, offset: offset, file: key, readable: readable)
        }
    }

    /// glibc's makedev, as fstat reports st_dev.
    static func makedev(_ major: UInt64, _ minor: UInt64) -> UInt64 {
        (major & 0xffff_f000) << 32 | (major & 0xfff) << 8 | (minor & 0xffff_ff00) << 12 | (minor & 0xff)
    }
}
