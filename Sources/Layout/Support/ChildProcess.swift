import CShims
import Foundation

/// Runs a program the way every child of this tool must run: in its own
/// process group, bounded in time, memory and captured output, and killed
/// with the tool (SIGINT, SIGTERM, SIGHUP). Output is captured through
/// pipes into bounded buffers, so nothing is written to disk.
package enum ChildProcess {
    package struct Limits: Sendable {
        package var timeout: Double
        package var addressSpace: Int64 = 0
        /// Cap on each captured stream; past it the child is killed.
        package var outputBytes: Int64 = 16 << 20

        package init(timeout: Double, addressSpace: Int64 = 0, outputBytes: Int64 = 16 << 20) {
            self.timeout = timeout; self.addressSpace = addressSpace; self.outputBytes = outputBytes
        }
    }

    package struct Result: Sendable {
        package var status: Int32
        package var signal: Int32
        package var timedOut: Bool
        /// A captured stream went past the cap, so the child was killed.
        package var outputCapped: Bool
        package var stdout: String
        package var stderr: String
    }

    /// Streams not captured are inherited from this process; `stdin` is fed
    /// from memory (a memfd, no file on disk), else /dev/null.
    package static func run(_ argv: [String], limits: Limits, stdin: String? = nil, captureStdout: Bool = true,
                            captureStderr: Bool = true) throws -> Result {
        guard !argv.isEmpty else { throw InputError("nothing to run") }
        var lim = uc_limits(timeout_s: limits.timeout, address_space: limits.addressSpace,
                            output_bytes: limits.outputBytes)
        let cArgs = argv.map { strdup($0) }
        defer { cArgs.forEach { free($0) } }
        var ptrs: [UnsafePointer<CChar>?] = cArgs.map { UnsafePointer($0) } + [nil]
        let input = try stdin.map(memoryFile) ?? -1
        defer { if input >= 0 { close(input) } }
        var r = ptrs.withUnsafeMutableBufferPointer {
            uc_run($0.baseAddress, input, captureStdout ? 1 : 0, captureStderr ? 1 : 0, &lim)
        }
        defer { uc_proc_free(&r) }
        if r.status == -1 { throw InputError("cannot run \(argv[0]): \(String(cString: strerror(r.error)))") }
        func text(_ p: UnsafeMutablePointer<CChar>?, _ n: Int) -> String {
            guard let p else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
        }
        return Result(status: r.status, signal: r.signal, timedOut: r.timed_out != 0,
                      outputCapped: r.output_capped != 0,
                      stdout: text(r.out, r.out_len), stderr: text(r.err, r.err_len))
    }

    /// A file that lives only in memory, holding `text`, read from its start.
    static func memoryFile(_ text: String) throws -> Int32 {
        let fd = uc_memfd("uapi-conform-stdin")
        guard fd >= 0 else { throw InputError("cannot create an in-memory file: \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8), total = bytes.count
        var done = 0
        while done < total {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, total - done) }
            if n <= 0 { close(fd); throw InputError("cannot write an in-memory file") }
            done += n
        }
        lseek(fd, 0, SEEK_SET)
        return fd
    }
}
