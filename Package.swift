// swift-tools-version:6.0
import PackageDescription

// One folder per concern: Sources/Layout (static ABI half), Sources/Cases,
// Sources/Backends/{Simulated,Live}, Sources/Report, Sources/CLI; the C shim
// lives at the top level in CShims/ as the mission asks.
let package = Package(
    name: "uapi-conform",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "uapi-conform", targets: ["CLI"]),
        // LD_PRELOAD library of `uapi-conform sim-exec`: the simulated kernel as /dev/iommu in any program.
        .library(name: "uapi-sim", type: .dynamic, targets: ["Preload"]),
        // The fuzzer's reference executor: only this runs in the guest (`vm -- fuzz`); C, as TCG is slow.
        .executable(name: "uapi-fuzz-exec", targets: ["uapi-fuzz-exec"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CShims", path: "CShims", exclude: ["tests", "Makefile", "preload", "fuzz-exec"],
                sources: ["uc_syscall.c", "uc_process.c"], publicHeadersPath: "include"),
        // The preload interposer (open/ioctl/read/... of libuapi-sim.so); only the dynamic library links it.
        .target(name: "CPreload", path: "CShims/preload", publicHeadersPath: "include",
                linkerSettings: [.linkedLibrary("dl")]),
        .executableTarget(name: "uapi-fuzz-exec", path: "CShims/fuzz-exec", publicHeadersPath: "include"),
        .target(name: "Preload", dependencies: ["CPreload", "Cases", "Layout", "SimulatedBackend"],
                path: "Sources/Preload"),
        .target(name: "Layout", dependencies: ["CShims"], path: "Sources/Layout"),
        .target(name: "Report", dependencies: ["Layout", "Cases"], path: "Sources/Report"),
        .target(name: "Cases", dependencies: ["Layout"], path: "Sources/Cases"),
        .target(name: "SimulatedBackend", dependencies: ["Layout", "Cases"], path: "Sources/Backends/Simulated"),
        .target(name: "LiveBackend", dependencies: ["Layout", "Cases", "CShims"], path: "Sources/Backends/Live"),
        .target(name: "Fuzz", dependencies: ["Layout", "Cases", "SimulatedBackend"], path: "Sources/Fuzz"),
        .executableTarget(
            name: "CLI",
            dependencies: ["Layout", "Report", "Cases", "SimulatedBackend", "LiveBackend", "Fuzz",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI"),
        .testTarget(name: "LayoutTests", dependencies: ["Layout", "Report", "Cases"], path: "Tests/LayoutTests"),
        .testTarget(name: "CasesTests", dependencies: ["Layout", "Cases", "SimulatedBackend"], path: "Tests/CasesTests"),
        .testTarget(name: "LiveTests", dependencies: ["Cases", "LiveBackend"], path: "Tests/LiveTests"),
        .testTarget(name: "SimulatedTests", dependencies: ["Layout", "Cases", "SimulatedBackend"], path: "Tests/SimulatedTests"),
        .testTarget(name: "FuzzTests", dependencies: ["Layout", "Cases", "SimulatedBackend", "Fuzz"],
                    path: "Tests/FuzzTests"),
        // Runs the built executable as a user does (exit codes, one-line errors); CLI makes sure it is built.
        .testTarget(name: "CLITests", dependencies: ["CLI"], path: "Tests/CLITests"),
    ],
    swiftLanguageModes: [.v6]
)
