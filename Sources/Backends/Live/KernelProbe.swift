import CShims
import Cases
import Foundation
import Layout

/// What the running kernel offers, found with harmless calls only: every
/// iommufd ioctl is sent a struct whose size word is 0, which a kernel that
/// has the ioctl rejects with EINVAL (size below the minimum) before any
/// handler runs, and one that lacks it answers ENOTTY.
package struct KernelProbe: Sendable {
    package struct IoctlPresence: Sendable {
        package var name: String
        package var request: UInt64
        package var present: Bool
        package var errno: Errno
        /// Smallest size the kernel does not reject with EINVAL (its IOCTL_OP minimum).
        package var minSize: Int?

        package init(name: String, request: UInt64, present: Bool, errno: Errno, minSize: Int?) {
            self.name = name; self.request = request; self.present = present; self.errno = errno; self.minSize = minSize
        }
    }

    package var release: String
    package var machine: String
    package var iommuNode: Bool
    /// errno from open(/dev/iommu) when it failed.
    package var openError: Errno?
    package var ioctls: [IoctlPresence]
    package var mockAvailable: Bool
    /// Where the mock exists: the errno of binding a MOCK_DOMAIN device when
    /// that fails on this boot (`mockBindError`), nil when it binds.
    package var mockBindError: Errno?
    package var capabilities: Set<String>
    package var vfioDevices: [String]
    /// TSM profiles whose ioctl numbers and minimum sizes this kernel shows.
    package var tsmProfiles: [String]

    package init(release: String, machine: String, iommuNode: Bool, openError: Errno?, ioctls: [IoctlPresence],
                 mockAvailable: Bool, capabilities: Set<String>, vfioDevices: [String], tsmProfiles: [String]) {
        self.release = release; self.machine = machine; self.iommuNode = iommuNode; self.openError = openError
        self.ioctls = ioctls; self.mockAvailable = mockAvailable; self.capabilities = capabilities
        self.vfioDevices = vfioDevices; self.tsmProfiles = tsmProfiles
    }

    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// CapEff bits from /proc/self/status: root alone is not enough in a
    /// container that dropped capabilities.
    static func capabilities() -> Set<String> {
        var out: Set<String> = []
        if geteuid() == 0 { out.insert("root") }
        guard let status = read("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let bits = UInt64(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "", radix: 16)
        else { return out }
        for (name, bit) in [("CAP_SYS_RAWIO", 17), ("CAP_SYS_ADMIN", 21), ("CAP_SYS_RESOURCE", 24),
                            ("CAP_IPC_LOCK", 14)]
            where bits & (1 << UInt64(bit)) != 0 { out.insert(name) }
        return out
    }

    /// Probe the kernel for the ioctls every known profile names.
    package static func run(profiles: [Profile]) -> KernelProbe {
        let release = read("/proc/sys/kernel/osrelease") ?? "unknown"
        var uts = utsname()
        uname(&uts)
        let machine = withUnsafeBytes(of: &uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let vfio = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/vfio/devices")) ?? []).sorted()
        var probe = KernelProbe(release: release, machine: machine,
                                iommuNode: FileManager.default.fileExists(atPath: "/dev/iommu"),
                                openError: nil, ioctls: [], mockAvailable: false, capabilities: capabilities(),
                                vfioDevices: vfio, tsmProfiles: [])
        guard probe.iommuNode else { return probe }
        let o = uc_open("/dev/iommu", O_RDWR)
        guard o.ret >= 0 else { probe.openError = Errno(rawValue: o.err); return probe }
        let fd = Int32(o.ret)
        defer { _ = uc_close(fd) }

        // Every iommufd ioctl any profile knows, by number (the same number
        // may carry different names in different versions).
        var seen: [UInt64: String] = [:]
        for p in profiles {
            for i in p.ioctls where i.family == .iommufd && seen[ioRequest(type: i.type, nr: i.nr)] == nil {
                seen[ioRequest(type: i.type, nr: i.nr)] = i.name
            }
        }
        for (req, name) in seen.sorted(by: { $0.key < $1.key }) {
            var arg = [UInt8](repeating: 0, count: 128)
            let r = arg.withUnsafeMutableBytes { uc_ioctl(fd, UInt(req), $0.baseAddress) }
            let present = !(r.ret < 0 && Errno(rawValue: r.err) == .ENOTTY)
            var entry = IoctlPresence(name: name, request: req, present: present,
                                      errno: Errno(rawValue: r.ret < 0 ? r.err : 0), minSize: nil)
            // Only TSM ioctls are sized: a zeroed TSM struct can only fail the
            // vDEVICE lookup, while e.g. a zeroed FAULT_QUEUE_ALLOC would succeed.
            if present && name.contains("TSM") { entry.minSize = minSize(fd: fd, request: req) }
            probe.ioctls.append(entry)
        }
        probe.mockAvailable = FileManager.default.fileExists(atPath: "/sys/bus/iommufd_mock")
            || probe.ioctls.contains { $0.name == "IOMMU_TEST_CMD" && $0.present }
        if probe.mockAvailable { probe.mockBindError = mockBindError(profiles: profiles) }
        probe.tsmProfiles = profiles.filter { p in
            // Only iommufd ioctls were probed (vfio ones need a device fd).
            let tsm = p.ioctls.filter { $0.family == .iommufd && $0.name.contains("TSM") }
            return !tsm.isEmpty && tsm.allSatisfy { t in
                probe.ioctls.contains { $0.request == ioRequest(type: t.type,
                                                                nr: t.nr) && $0.present && $0.minSize == t.minSize }
            }
        }.map(\.name)
        // v2 and v5 both have a 40-byte request at 0x96; v5 rejects a non-zero
        // byte at offset 20 (__reserved, EOPNOTSUPP), v2 never looks at that hole.
        if probe.tsmProfiles.contains("tsm-v2") && probe.tsmProfiles.contains("tsm-v5") {
            var arg = [UInt8](repeating: 0, count: 40)
            arg[0] = 40
            arg[20] = 1
            let v5 = call(fd, ioRequest(type: 0x3B, nr: 0x96), &arg) == .EOPNOTSUPP
            probe.tsmProfiles.removeAll { $0 == (v5 ? "tsm-v2" : "tsm-v5") }
        }
        return probe
    }

    /// The smallest size word the kernel does not reject with EINVAL, tried
    /// upwards from 4 so nothing past the minimum is ever sent.
    static func minSize(fd: Int32, request: UInt64) -> Int? {
        var size = 4
        while size <= 96 {
            var arg = [UInt8](repeating: 0, count: 128)
            arg[0] = UInt8(size)
            if call(fd, request, &arg) != .EINVAL { return size }
            size += 4
        }
        return nil
    }

    package var summaryLine: String {
        if !iommuNode {
            return "no /dev/iommu on kernel \(release) (\(machine)): iommufd is not available here (CONFIG_IOMMUFD off "
                + "or not loaded)"
        }
        if let e = openError { return "/dev/iommu exists on kernel \(release) but cannot be opened: \(e.name)" }
        let present = ioctls.filter(\.present)
        return "kernel \(release) (\(machine)): /dev/iommu with \(present.count) of \(ioctls.count) known iommufd "
            + "ioctls; selftest mock \(mockState)"
    }

    var mockState: String {
        guard mockAvailable else { return "absent" }
        return mockBindError.map { "present, but MOCK_DOMAIN cannot bind a device (\($0.name))" } ?? "available"
    }

    package func text() -> String {
        var out = [summaryLine]
        guard iommuNode && openError == nil else { return out.joined(separator: "\n") }
        for i in ioctls {
            let size = i.minSize.map { ", minimum size \($0)" } ?? ""
            let state = i.present ? "present" + size : "absent (\(i.errno.name))"
            out.append("  \(i.name.padding(toLength: 36, withPad: " ", startingAt: 0)) "
                + "0x\(String(i.request, radix: 16))  \(state)")
        }
        out.append("selftest mock (CONFIG_IOMMUFD_TEST): \(mockState)")
        out.append("TSM uAPI: " + (tsmProfiles.isEmpty ? "none (no TSM ioctls answer: behaves as "
            + "linux-7.2)" : "matches \(tsmProfiles.joined(separator: ", "))"))
        let nodes = vfioDevices.map { "/dev/vfio/devices/" + $0 }.joined(separator: ", ")
        out.append("vfio devices: " + (vfioDevices.isEmpty ? "none" : nodes))
        out.append("capabilities: " + (capabilities.isEmpty ? "none" : capabilities.sorted().joined(separator: ", ")))
        return out.joined(separator: "\n")
    }

    package func jsonObject() -> [String: Any] {
        [
            "release": release, "machine": machine, "iommu_node": iommuNode,
            "open_error": openError.map { $0.name as Any } ?? NSNull(),
            "ioctls": ioctls.map { ["name": $0.name, "request": $0.request, "present": $0.present,
                                    "min_size": $0.minSize.map { $0 as Any } ?? NSNull()] as [String: Any] },
            "selftest_mock": mockAvailable,
            "selftest_mock_bind_error": mockBindError.map { $0.name as Any } ?? NSNull(),
            "tsm_profiles": tsmProfiles, "vfio_devices": vfioDevices,
            "capabilities": capabilities.sorted(),
        ]
    }
}
