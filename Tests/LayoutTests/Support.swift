import Foundation
@testable import Layout

/// Paths of the package and of the fetched Linux 7.2 headers (`make deps`).
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let headers = root + "/.deps/linux-libc-dev/usr/include"
    static let fixtures = root + "/fixtures"
    static var haveHeaders: Bool { FileManager.default.fileExists(atPath: headers + "/linux/iommufd.h") }
    static let noHeaders = "needs the Linux 7.2 headers: run `make deps`"

    /// The Linux 6.12 headers and kernel source (`make deps-6.12`, `scripts/release.sh source linux-6.12`).
    static let headers612 = root + "/.deps/linux-libc-dev-6.12/usr/include"
    static let source612 = root + "/.deps/linux-source-6.12"
    static var haveHeaders612: Bool { FileManager.default.fileExists(atPath: headers612 + "/linux/iommufd.h") }
    static let noHeaders612 = "needs the Linux 6.12 headers: run `make deps-6.12`"

    static func store() throws -> ProfileStore { try ProfileStore(directory: fixtures + "/profiles") }

    /// One probe of the real tree shared by the tests that only read it.
    static let probed: Result<(UapiScope, LayoutProbe.Result), Error> = Result {
        let tree = try HeaderTree(path: headers)
        let scope = UapiScope(headers: try tree.parse())
        return (scope, try LayoutProbe(tree: tree, scope: scope).run())
    }

    static func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "uc-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}
