import CShims
import Foundation

/// The calling thread's fail-nth (CONFIG_FAULT_INJECTION): armed with n, the
/// nth fault-injection site the thread reaches fails (an allocation returns
/// NULL, so the ioctl sees ENOMEM). Reading it back 0 means the fault fired.
package final class FailNth {
    private let fd: Int32

    /// nil on a kernel without fault injection.
    package init?() {
        let r = uc_open("/proc/thread-self/fail-nth", O_RDWR)
        guard r.ret >= 0 else { return nil }
        fd = Int32(r.ret)
    }

    deinit { _ = uc_close(fd) }

    package func arm(_ n: Int) { write(String(n)) }

    /// Disarms it; true when the armed fault was injected.
    package func disarm() -> Bool {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 32, 0) }
        write("0")
        // Reading can itself hit the fault (EFAULT): then it did not fire on the ioctl.
        guard n > 0 else { return false }
        return String(decoding: buf[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "0"
    }

    private func write(_ s: String) {
        for _ in 0..<2 {
            let ok = s.withCString { pwrite(fd, $0, strlen($0), 0) } >= 0
            if ok { return }  // a fault can hit the write itself once: try again
        }
    }

    /// Lets every allocation be injected and quiets the injection's own log
    /// lines (the run reads the log for real reports), as the kernel's
    /// iommufd_fail_nth test does.
    package static func configure(debugfs: String = "/sys/kernel/debug") {
        for (file, value) in [("failslab/ignore-gfp-wait", "N"), ("fail_page_alloc/ignore-gfp-wait", "N"),
                              ("fail_page_alloc/ignore-gfp-highmem", "N"), ("failslab/verbose", "0"),
                              ("fail_page_alloc/verbose", "0"), ("fail_usercopy/verbose", "0")] {
            try? value.write(toFile: debugfs + "/" + file, atomically: false, encoding: .utf8)
        }
    }
}
