import Foundation

/// A Linux userspace ABI the probe can compile for. `asmDirs` lists the
/// multiarch folders whose `asm/` serves this ABI, own folder first: the uapi
/// asm headers of one architecture family are shared by all its ABIs (x86 asm
/// covers i386, x32 and x86_64; mips asm covers o32, n32 and n64).
package struct ABI: Sendable, Hashable, Codable {
    package let name: String
    package let clangTriple: String?
    package let asmDirs: [String]
    package let family: String

    package static let all: [ABI] = [
        ABI(name: "x86_64", clangTriple: "x86_64-linux-gnu",
            asmDirs: ["x86_64-linux-gnu", "i386-linux-gnu", "x86_64-linux-gnux32"], family: "x86"),
        ABI(name: "i386", clangTriple: "i386-linux-gnu",
            asmDirs: ["i386-linux-gnu", "x86_64-linux-gnu", "x86_64-linux-gnux32"], family: "x86"),
        ABI(name: "x32", clangTriple: "x86_64-linux-gnux32",
            asmDirs: ["x86_64-linux-gnux32", "x86_64-linux-gnu", "i386-linux-gnu"], family: "x86"),
        ABI(name: "arm64", clangTriple: "aarch64-linux-gnu", asmDirs: ["aarch64-linux-gnu"], family: "arm64"),
        ABI(name: "arm-eabi", clangTriple: "armv5te-linux-gnueabi",
            asmDirs: ["arm-linux-gnueabi", "arm-linux-gnueabihf"], family: "arm"),
        ABI(name: "arm-eabihf", clangTriple: "armv7-linux-gnueabihf",
            asmDirs: ["arm-linux-gnueabihf", "arm-linux-gnueabi"], family: "arm"),
        ABI(name: "loongarch64", clangTriple: "loongarch64-linux-gnu", asmDirs: ["loongarch64-linux-gnu"],
            family: "loongarch"),
        ABI(name: "m68k", clangTriple: "m68k-linux-gnu", asmDirs: ["m68k-linux-gnu"], family: "m68k"),
        ABI(name: "mips-o32", clangTriple: "mips-linux-gnu", asmDirs: ["mips-linux-gnu", "mipsel-linux-gnu"],
            family: "mips"),
        ABI(name: "mipsel-o32", clangTriple: "mipsel-linux-gnu", asmDirs: ["mipsel-linux-gnu", "mips-linux-gnu"],
            family: "mips"),
        ABI(name: "mips64-n64", clangTriple: "mips64-linux-gnuabi64",
            asmDirs: ["mips64-linux-gnuabi64", "mips64el-linux-gnuabi64"], family: "mips"),
        ABI(name: "mips64el-n64", clangTriple: "mips64el-linux-gnuabi64",
            asmDirs: ["mips64el-linux-gnuabi64", "mips64-linux-gnuabi64"], family: "mips"),
        ABI(name: "mips64el-n32", clangTriple: "mips64el-linux-gnuabin32",
            asmDirs: ["mips64el-linux-gnuabi64", "mips64-linux-gnuabi64"], family: "mips"),
        ABI(name: "mipsr6el-n64", clangTriple: "mipsisa64r6el-linux-gnuabi64",
            asmDirs: ["mipsisa64r6el-linux-gnuabi64", "mips64el-linux-gnuabi64"], family: "mips"),
        ABI(name: "powerpc", clangTriple: "powerpc-linux-gnu", asmDirs: ["powerpc-linux-gnu", "powerpc64-linux-gnu"],
            family: "powerpc"),
        ABI(name: "powerpc64", clangTriple: "powerpc64-linux-gnu",
            asmDirs: ["powerpc64-linux-gnu", "powerpc64le-linux-gnu"], family: "powerpc"),
        ABI(name: "powerpc64le", clangTriple: "powerpc64le-linux-gnu",
            asmDirs: ["powerpc64le-linux-gnu", "powerpc64-linux-gnu"], family: "powerpc"),
        ABI(name: "riscv64", clangTriple: "riscv64-linux-gnu", asmDirs: ["riscv64-linux-gnu"], family: "riscv"),
        ABI(name: "riscv32", clangTriple: "riscv32-linux-gnu", asmDirs: ["riscv64-linux-gnu"], family: "riscv"),
        ABI(name: "s390x", clangTriple: "s390x-linux-gnu", asmDirs: ["s390x-linux-gnu"], family: "s390"),
        ABI(name: "sparc64", clangTriple: "sparcv9-linux-gnu", asmDirs: ["sparc64-linux-gnu"], family: "sparc"),
        // clang has no backend or target info for these; reported as not checked.
        ABI(name: "alpha", clangTriple: nil, asmDirs: ["alpha-linux-gnu"], family: "alpha"),
        ABI(name: "parisc", clangTriple: nil, asmDirs: ["hppa-linux-gnu"], family: "parisc"),
        ABI(name: "sh4", clangTriple: nil, asmDirs: ["sh4-linux-gnu"], family: "sh"),
    ]

    package static func named(_ name: String) -> ABI? { all.first { $0.name == name } }

    /// Files that tell which family a bare `asm/` folder (headers_install
    /// output) belongs to.
    static let familySignatures: [(family: String, file: String)] = [
        ("x86", "asm/mtrr.h"), ("arm64", "asm/sve_context.h"), ("riscv", "asm/hwprobe.h"),
        ("powerpc", "asm/ps3fb.h"), ("s390", "asm/zcrypt.h"), ("mips", "asm/sgidefs.h"),
        ("sparc", "asm/openpromio.h"), ("m68k", "asm/bootinfo-mac.h"), ("loongarch", "asm/hwcap.h"),
    ]
}
