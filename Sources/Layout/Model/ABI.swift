import Foundation

/// A Linux userspace ABI the probe can compile for. `asmDirs` lists the
/// multiarch folders whose `asm/` serves this ABI, own folder first: the uapi
/// asm headers of one architecture family are shared by all its ABIs (x86 asm
/// covers i386, x32 and x86_64; mips asm covers o32, n32 and n64).
package struct ABI: Sendable, Hashable, Codable {
    /// What compiles the probe for an ABI: clang for every target it has,
    /// Debian's cross gcc (`<triple>-gcc`, package gcc-<triple>) for the
    /// three it lacks. gcc's assembly spells 64-bit values as two 32-bit
    /// words on 32-bit targets, in the target's byte order.
    package enum Compiler: Sendable, Hashable, Codable {
        case clang(target: String)
        case gcc(triple: String, bigEndian: Bool)
    }

    package let name: String
    package let compiler: Compiler
    package let asmDirs: [String]
    package let family: String

    init(name: String, clang target: String, asmDirs: [String], family: String) {
        self.name = name; compiler = .clang(target: target); self.asmDirs = asmDirs; self.family = family
    }

    init(name: String, gcc triple: String, bigEndian: Bool, asmDirs: [String], family: String) {
        self.name = name; compiler = .gcc(triple: triple, bigEndian: bigEndian)
        self.asmDirs = asmDirs; self.family = family
    }

    package var clangTriple: String? {
        if case .clang(let t) = compiler { return t }
        return nil
    }

    /// `clang --target=T` or `T-gcc`, as reports name it.
    package var compilerName: String {
        switch compiler {
        case .clang(let t): return "clang --target=\(t)"
        case .gcc(let t, _): return "\(t)-gcc"
        }
    }

    package static let all: [ABI] = [
        ABI(name: "x86_64", clang: "x86_64-linux-gnu",
            asmDirs: ["x86_64-linux-gnu", "i386-linux-gnu", "x86_64-linux-gnux32"], family: "x86"),
        ABI(name: "i386", clang: "i386-linux-gnu",
            asmDirs: ["i386-linux-gnu", "x86_64-linux-gnu", "x86_64-linux-gnux32"], family: "x86"),
        ABI(name: "x32", clang: "x86_64-linux-gnux32",
            asmDirs: ["x86_64-linux-gnux32", "x86_64-linux-gnu", "i386-linux-gnu"], family: "x86"),
        ABI(name: "arm64", clang: "aarch64-linux-gnu", asmDirs: ["aarch64-linux-gnu"], family: "arm64"),
        ABI(name: "arm-eabi", clang: "armv5te-linux-gnueabi",
            asmDirs: ["arm-linux-gnueabi", "arm-linux-gnueabihf"], family: "arm"),
        ABI(name: "arm-eabihf", clang: "armv7-linux-gnueabihf",
            asmDirs: ["arm-linux-gnueabihf", "arm-linux-gnueabi"], family: "arm"),
        ABI(name: "loongarch64", clang: "loongarch64-linux-gnu",
            asmDirs: ["loongarch64-linux-gnu"], family: "loongarch"),
        ABI(name: "m68k", clang: "m68k-linux-gnu", asmDirs: ["m68k-linux-gnu"], family: "m68k"),
        ABI(name: "mips-o32", clang: "mips-linux-gnu", asmDirs: ["mips-linux-gnu", "mipsel-linux-gnu"], family: "mips"),
        ABI(name: "mipsel-o32", clang: "mipsel-linux-gnu",
            asmDirs: ["mipsel-linux-gnu", "mips-linux-gnu"], family: "mips"),
        ABI(name: "mips64-n64", clang: "mips64-linux-gnuabi64",
            asmDirs: ["mips64-linux-gnuabi64", "mips64el-linux-gnuabi64"], family: "mips"),
        ABI(name: "mips64el-n64", clang: "mips64el-linux-gnuabi64",
            asmDirs: ["mips64el-linux-gnuabi64", "mips64-linux-gnuabi64"], family: "mips"),
        ABI(name: "mips64el-n32", clang: "mips64el-linux-gnuabin32",
            asmDirs: ["mips64el-linux-gnuabi64", "mips64-linux-gnuabi64"], family: "mips"),
        ABI(name: "mipsr6el-n64", clang: "mipsisa64r6el-linux-gnuabi64",
            asmDirs: ["mipsisa64r6el-linux-gnuabi64", "mips64el-linux-gnuabi64"], family: "mips"),
        ABI(name: "powerpc", clang: "powerpc-linux-gnu",
            asmDirs: ["powerpc-linux-gnu", "powerpc64-linux-gnu"], family: "powerpc"),
        ABI(name: "powerpc64", clang: "powerpc64-linux-gnu",
            asmDirs: ["powerpc64-linux-gnu", "powerpc64le-linux-gnu"], family: "powerpc"),
        ABI(name: "powerpc64le", clang: "powerpc64le-linux-gnu",
            asmDirs: ["powerpc64le-linux-gnu", "powerpc64-linux-gnu"], family: "powerpc"),
        ABI(name: "riscv64", clang: "riscv64-linux-gnu", asmDirs: ["riscv64-linux-gnu"], family: "riscv"),
        ABI(name: "riscv32", clang: "riscv32-linux-gnu", asmDirs: ["riscv64-linux-gnu"], family: "riscv"),
        ABI(name: "s390x", clang: "s390x-linux-gnu", asmDirs: ["s390x-linux-gnu"], family: "s390"),
        ABI(name: "sparc64", clang: "sparcv9-linux-gnu", asmDirs: ["sparc64-linux-gnu"], family: "sparc"),
        // clang has no backend or target info for these: Debian's cross gcc compiles them.
        ABI(name: "alpha", gcc: "alpha-linux-gnu", bigEndian: false, asmDirs: ["alpha-linux-gnu"], family: "alpha"),
        ABI(name: "parisc", gcc: "hppa-linux-gnu", bigEndian: true, asmDirs: ["hppa-linux-gnu"], family: "parisc"),
        ABI(name: "sh4", gcc: "sh4-linux-gnu", bigEndian: false, asmDirs: ["sh4-linux-gnu"], family: "sh"),
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
