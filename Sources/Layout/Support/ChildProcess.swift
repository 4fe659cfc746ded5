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

    /// Streams not captured are inherited from this process.
    package static func run(_ argv: [String], limits: Limits, captureStdout: Bool = true,
                            captureStderr: Bool = true) throws -> Result {
        guard !argv.isEmpty else { throw InputError("nothing to run") }
        var lim = uc_limits(timeout_s: limits.timeout, address_space: limits.addressSpace,
                            output_bytes: limits.outputBytes)
        let cArgs = argv.map { strdup($0) }
        defer { cArgs.forEach { free($0) } }
        var ptrs: [UnsafePointer<CChar>?] = cArgs.map { UnsafePointer($0) } + [nil]
        var r = ptrs.withUnsafeMutableBufferPointer {
            uc_run($0.baseAddress, captureStdout ? 1 : 0, captureStderr ? 1 : 0, &lim)
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
}
