import Foundation
import LiveBackend
import Testing

/// The fuzz lane's kernel-log verdict: a report fails the run unless a listed function is in its trace.
struct KnownReports {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/fixtures"
    }()

    static func warning(in function: String) -> String {
        """
        [   12.000001] uapi-conform: marker
        [   12.345678] WARNING: mm/page_alloc.c:5336 at __alloc_frozen_pages_noprof+0x47/0xe1, CPU#0: x/77
        [   12.345700] Call Trace:
        [   12.345701]  <TASK>
        [   12.345702]  __kmalloc_large_noprof+0x1a/0x80
        [   12.345703]  \(function)+0x3c/0x1e0
        [   12.345704]  iommufd_fops_ioctl+0x10f/0x1a0
        [   12.345705]  </TASK>
        [   12.345706] ---[ end trace 0000000000000000 ]---
        [   12.400000] something else
        """
    }

    @Test func theListedBugIsKnown() throws {
        let log = try FuzzKernelLog(fixtures: KnownReports.fixtures)
        let reports = FuzzKernelLog.reports(KnownReports.warning(in: "mock_viommu_cache_invalidate"))
        #expect(reports.count == 1)
        #expect(reports.first?.line.hasPrefix("WARNING: mm/page_alloc.c:5336") == true)
        #expect(log.known(try #require(reports.first)) != nil)
        #expect(log.check(KnownReports.warning(in: "mock_viommu_cache_invalidate")))
    }

    /// The twin: the same WARNING from another function fails the run.
    @Test func anyOtherReportFails() throws {
        let log = try FuzzKernelLog(fixtures: KnownReports.fixtures)
        #expect(!log.check(KnownReports.warning(in: "iommufd_hwpt_invalidate")))
        #expect(!log.check("[    1.0] BUG: KASAN: slab-use-after-free in iopt_unmap_iova+0x1/0x2\n"))
        #expect(log.check("[    1.0] all quiet\n"))
    }

    @Test func aMissingListIsBadInput() {
        #expect(throws: (any Error).self) { try FuzzKernelLog(fixtures: "/nonexistent") }
    }

    /// A guest run out of memory (as a context leak makes it) is a report like any other.
    @Test func outOfMemoryIsAReport() throws {
        let log = try FuzzKernelLog(fixtures: KnownReports.fixtures)
        let oom = "[  209.2] Out of memory: Killed process 79 (uapi-fuzz-exec) total-vm:90704kB\n[  209.3] x"
        #expect(FuzzKernelLog.reports(oom).count == 1)
        #expect(!log.check(oom))
    }

    /// Mock devices left once every iommufd is closed fail the run; none left, or no count, pass.
    @Test func leftoverMockDevicesFail() {
        let m = FuzzLeftovers.marker
        #expect(!FuzzLeftovers.check("[ 1.0] boot\n\(m) 3\n"))
        #expect(FuzzLeftovers.check("[ 1.0] boot\n\(m) 0\n"))
        #expect(FuzzLeftovers.check("[ 1.0] boot\n"))
    }
}
