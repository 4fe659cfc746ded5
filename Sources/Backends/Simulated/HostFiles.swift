import Cases

/// What the simulator asks of the process it serves when it stands in for /dev/iommu in another program
/// (sim-exec's preload): a real descriptor to number each file it hands out, so numbering, close, poll and fork
/// behave as for a device node, and the size of a real file IOAS_MAP_FILE names.
package protocol HostFiles: AnyObject {
    /// A real descriptor standing for a new simulated file; nil when the process has none left (EMFILE).
    func reserve(cloexec: Bool) -> Int32?
    /// The byte size of `fd`, a real descriptor the simulator did not hand out, and which file it is (its device
    /// and inode); nil if it is not open.
    func realFile(_ fd: Int32) -> (size: UInt64, key: FileKey)?
    /// The process's mappings now (/proc/self/maps), for which pages back a user address.
    func userMappings() -> [UserMapping]
}

/// A file by device and inode (fstat's st_dev, st_ino).
package struct FileKey: Hashable, Sendable {
    package let dev, ino: UInt64
    package init(dev: UInt64, ino: UInt64) { self.dev = dev; self.ino = ino }
}

/// One mapping of the process: [start, end), and the file and offset behind it (nil: anonymous memory).
package struct UserMapping: Sendable {
    package let start, end, offset: UInt64
    package let file: FileKey?
    /// PROT_NONE pages are mapped but cannot be pinned (or read): EFAULT, as for no mapping.
    package let readable: Bool
    package init(start: UInt64, end: UInt64, offset: UInt64, file: FileKey?, readable: Bool = true) {
        self.start = start; self.end = end; self.offset = offset; self.file = file; self.readable = readable
    }
}

/// What a mock page maps, as the mock compares struct pages: the same byte of the same file (a memfd, a
/// shared mapping), or of the same anonymous memory.
enum PageIdentity: Equatable {
    case anonymous(UInt64)
    case file(FileKey, UInt64)
}

extension SimulatedKernel {
    /// open(2) with the caller's O_CLOEXEC choice, for the preload.
    package func open(_ path: String, cloexec: Bool) -> SyscallResult {
        installCloexec = cloexec
        defer { installCloexec = true }
        return open(path)
    }

    /// dup(2)'s effect: `new` is one more descriptor of `fd`'s open file.
    package func duplicate(_ fd: Int32, as new: Int32) {
        guard let f = files[fd] else { return }
        files[new] = f
    }

    /// Whether `fd` is a file this kernel handed out.
    package func isSimulated(_ fd: Int32) -> Bool { files[fd] != nil }

    /// Whether another descriptor still refers to the open file `f` (dup): its release waits for the last close.
    func sharedElsewhere(_ f: OpenFile) -> Bool { files.values.contains { $0.sameFile(f) } }

    /// The descriptors whose queue has something to read (poll readiness).
    package var readableDescriptors: [Int32] {
        files.compactMap { fd, f in
            guard case .eventq(let q) = f else { return nil }
            return q.faults.isEmpty && q.vevents.isEmpty ? nil : fd
        }
    }

    /// IOAS_MAP_FILE's view of a descriptor this kernel did not hand out: under the preload a real file of its
    /// size, known by its key, else fds 0-2 as files of 1 GiB (documentedChoices["map_file.fds"]); nil for EBADF.
    func foreignFile(_ fd: Int32) -> (size: UInt64, key: FileKey?)? {
        if let host { return host.realFile(fd).map { ($0.size, $0.key) } }
        return fd >= 0 && fd <= 2 ? (SimulatedKernel.mapFileSize, nil) : nil
    }
}

extension SimulatedKernel {
    /// The page behind user address `addr`: its file and offset where a file backs it (under the preload).
    func identity(ofUser addr: UInt64, _ maps: [UserMapping]) -> PageIdentity {
        guard let m = maps.first(where: { addr >= $0.start && addr < $0.end }), let key = m.file else {
            return .anonymous(addr)
        }
        return .file(key, m.offset + (addr - m.start))
    }

    /// The page `iova` of `ioas` maps: a file's offset, or its user address resolved as above; nil unmapped.
    func identity(ofIova iova: UInt64, in ioas: IoasObject, _ maps: [UserMapping]) -> PageIdentity? {
        guard let m = ioas.mapping(at: iova) else { return nil }
        let at = m.addr &+ (iova - m.iova)
        if m.file { return m.fileKey.map { .file($0, at) } }
        return identity(ofUser: at, maps)
    }

    /// The process's mappings under the preload; none for the catalogue's own buffers.
    func currentMappings() -> [UserMapping] { host?.userMappings() ?? [] }
}

extension OpenFile {
    /// The same open file (one dup'd descriptor of another); files without state are never shared.
    func sameFile(_ other: OpenFile) -> Bool {
        switch (self, other) {
        case (.iommufd(let a), .iommufd(let b)): return a === b
        case (.vfio(let a), .vfio(let b)): return a === b
        case (.eventq(let a), .eventq(let b)): return a === b
        case (.access(let a), .access(let b)): return a === b
        default: return false
        }
    }
}
