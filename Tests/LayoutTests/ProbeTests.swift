import Foundation
import Testing
@testable import Layout

@Suite("compiler probe on the Linux 7.2 headers", .enabled(if: Repo.haveHeaders, Comment(rawValue: Repo.noHeaders)))
struct ProbeTests {
    /// The IR-read numbers must equal what a native build of the same probe
    /// prints when run: proves the IR reading, not just self-consistency.
    @Test func irValuesEqualANativeRun() throws {
        let tree = try HeaderTree(path: Repo.headers)
        let scope = UapiScope(headers: try tree.parse())
        let probe = LayoutProbe(tree: tree, scope: scope)
        let entries = probe.entries()
        let dir = try Repo.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let compiled = probe.compile(abi: ABI.named("x86_64")!, asmInclude: Repo.headers + "/x86_64-linux-gnu",
                                     entries: entries)
        #expect(compiled.fatal == nil)
        #expect(compiled.rejected.isEmpty)
        let src = probe.source(entries).text + """
        #include <stdio.h>
        int main(void) { for (unsigned i = 0; i < sizeof(uc_probe) / sizeof(uc_probe[0]) - 1; i++) printf("%lld\\n", (long long)uc_probe[i]); return 0; }
        """
        try src.write(toFile: dir + "/native.c", atomically: true, encoding: .utf8)
        let cc = try ChildProcess.run([probe.compiler, "-I", Repo.headers, "-I", Repo.headers + "/x86_64-linux-gnu",
                                       "-w", "-o", dir + "/native", dir + "/native.c"], limits: .init(timeout: 60))
        #expect(cc.status == 0, "native build failed: \(cc.stderr)")
        let out = Process()
        out.executableURL = URL(fileURLWithPath: dir + "/native")
        let pipe = Pipe()
        out.standardOutput = pipe
        try out.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        out.waitUntilExit()
        let native = String(decoding: data, as: UTF8.self).split(separator: "\n").map { Int64($0)! }
        #expect(native.count == entries.count)
        var differing: [String] = []
        for (e, v) in zip(entries, native) where compiled.values[e] != v { differing.append("\(e): IR \(compiled.values[e] ?? -1), native \(v)") }
        #expect(differing.isEmpty, "\(differing.prefix(5))")
    }

    @Test func coversTwentyABIsAndEveryIommufdIoctl() throws {
        let (_, result) = try Repo.probed.get()
        #expect(result.layouts.count >= 20)
        // Only ABIs whose cross gcc is not installed may be skipped.
        #expect(result.skipped.allSatisfy { $0.compilerMissing && $0.abi.clangTriple == nil })
        for l in result.layouts {
            let iommufd = l.ioctls.filter { $0.family == .iommufd }
            #expect(iommufd.count == 21, "\(l.abi.name)")
            #expect(Set(iommufd.map(\.nr)) == Set(0x80...0x94), "\(l.abi.name)")
            for s in ["vfio_device_bind_iommufd", "vfio_device_attach_iommufd_pt", "vfio_device_detach_iommufd_pt",
                      "vfio_device_feature", "vfio_device_feature_dma_buf", "vfio_region_dma_range", "vfio_region_info",
                      "vfio_device_info", "iommu_iova_range", "iommu_hwpt_vtd_s1", "iommu_hwpt_arm_smmuv3",
                      "iommu_hw_info_vtd", "iommufd_vevent_header", "iommu_vevent_arm_smmuv3"] {
                #expect(l.layout(of: s) != nil, "\(s) missing on \(l.abi.name)")
            }
        }
    }

    /// The contract note's table (sizeof and IOCTL_OP minimum per ioctl),
    /// restated here, against the compiler and the golden profile.
    @Test(arguments: [
        ("IOMMU_DESTROY", 8, 8), ("IOMMU_IOAS_ALLOC", 12, 12), ("IOMMU_IOAS_ALLOW_IOVAS", 24, 24),
        ("IOMMU_IOAS_COPY", 40, 40), ("IOMMU_IOAS_IOVA_RANGES", 32, 32), ("IOMMU_IOAS_MAP", 40, 40),
        ("IOMMU_IOAS_UNMAP", 24, 24), ("IOMMU_OPTION", 24, 24), ("IOMMU_VFIO_IOAS", 12, 12),
        ("IOMMU_HWPT_ALLOC", 24, 48), ("IOMMU_GET_HW_INFO", 32, 40), ("IOMMU_HWPT_SET_DIRTY_TRACKING", 16, 16),
        ("IOMMU_HWPT_GET_DIRTY_BITMAP", 48, 48), ("IOMMU_HWPT_INVALIDATE", 32, 32), ("IOMMU_FAULT_QUEUE_ALLOC", 16, 16),
        ("IOMMU_IOAS_MAP_FILE", 40, 40), ("IOMMU_VIOMMU_ALLOC", 24, 40), ("IOMMU_VDEVICE_ALLOC", 24, 24),
        ("IOMMU_IOAS_CHANGE_PROCESS", 8, 8), ("IOMMU_VEVENTQ_ALLOC", 28, 32), ("IOMMU_HW_QUEUE_ALLOC", 40, 40),
    ])
    func contractSizes(ioctl: String, min: Int, size: Int) throws {
        let (_, result) = try Repo.probed.get()
        let profile = try Repo.store().resolved("linux-7.2")
        let pi = try #require(profile.ioctl(ioctl))
        #expect(pi.minSize == min)
        for l in result.layouts {
            let s = try #require(l.layout(of: pi.struct))
            #expect(s.size == size, "\(ioctl) on \(l.abi.name)")
            #expect(s.offsetOfEnd(pi.last!) == min, "\(ioctl) on \(l.abi.name)")
            #expect(l.ioctl(ioctl)?.nr == pi.nr)
        }
    }

    @Test func dmaBufLayoutPerABI() throws {
        let (_, result) = try Repo.probed.get()
        let x86 = try #require(result.layouts.first { $0.abi.name == "x86_64" })
        let i386 = try #require(result.layouts.first { $0.abi.name == "i386" })
        // Plain __u64: same offsets on both, alignment 8 vs 4.
        #expect(x86.layout(of: "vfio_region_dma_range")?.align == 8)
        #expect(i386.layout(of: "vfio_region_dma_range")?.align == 4)
        #expect(x86.layout(of: "vfio_device_feature_dma_buf")?.field("dma_ranges")?.offset == 16)
        #expect(i386.layout(of: "vfio_device_feature_dma_buf")?.field("dma_ranges")?.offset == 16)
        #expect(x86.constants["VFIO_DEVICE_FEATURE_DMA_BUF"] == 11)
        // _IO encodes direction "none" as 1 on powerpc and mips: same nr, other request.
        let ppc = try #require(result.layouts.first { $0.abi.name == "powerpc64le" })
        #expect(ppc.ioctl("IOMMU_DESTROY")?.request == 0x2000_3B80)
        #expect(x86.ioctl("IOMMU_DESTROY")?.request == 0x3B80)
    }

    @Test func theSevenTwoTreeMatchesOnlyItsProfileAndHasNoErrors() throws {
        let report = try AbiCheck.run(.init(headers: Repo.headers, fixtures: Repo.fixtures))
        #expect(report.profileMatches == ["linux-7.2"])
        #expect(report.errors == 0, "\(report.findings.filter { $0.severity == .error })")
        // The warnings that are real: 12-byte structs, unsigned output fds, plain __u64 in dma ranges.
        #expect(Set(report.findings.map(\.rule)) == ["size-not-multiple-of-8", "unsigned-fd", "unaligned-u64"])
        let tsm = try AbiCheck.run(.init(headers: Repo.headers, abis: ["x86_64", "i386"], profile: "tsm-v5", fixtures: Repo.fixtures))
        #expect(tsm.exitCode == 1)
        #expect(tsm.findings.contains { $0.rule == "profile-mismatch" && $0.message.contains("IOMMU_VDEVICE_TSM_REQ") && $0.message.contains("missing") })
    }
}

@Suite("bad input")
struct BadInputTests {
    @Test func missingFolder() {
        #expect(throws: InputError.self) { try HeaderTree(path: "/nonexistent/headers") }
    }

    @Test func treeWithoutIommufd() throws {
        let dir = try Repo.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = #expect(throws: InputError.self) { try HeaderTree(path: dir) }
        #expect(e?.message.contains("linux/iommufd.h") == true)
    }

    @Test func unknownProfile() throws {
        let e = #expect(throws: InputError.self) { try Repo.store().resolved("tsm-v9") }
        #expect(e?.message.contains("unknown profile 'tsm-v9'") == true)
    }

    @Test func brokenProfileFile() throws {
        let dir = try Repo.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "{\"name\": 3}".write(toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        let e = #expect(throws: InputError.self) { try ProfileStore(directory: dir) }
        #expect(e?.message.contains("bad.json") == true)
    }
}
