/// uAPI design rules. Each has a stable id, a severity, why it matters and
/// the kernel document it comes from; `uapi-conform rules` prints them.
package enum Severity: String, Codable, Sendable, Comparable {
    case error, warning, info
    package static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    var rank: Int { switch self { case .error: 0; case .warning: 1; case .info: 2 } }
}

package struct Finding: Codable, Sendable, Hashable {
    package var rule: String
    package var severity: Severity
    package var `struct`: String?
    package var field: String?
    /// The ABI(s) where it shows, comma separated; nil when ABI-independent.
    package var abi: String?
    package var message: String
    /// file:line in the header under test.
    package var location: String?

    package init(rule: String, severity: Severity, struct s: String? = nil, field: String? = nil, abi: String? = nil,
                 message: String, location: SourceLocation? = nil) {
        self.rule = rule; self.severity = severity; self.struct = s; self.field = field; self.abi = abi
        self.message = message; self.location = location?.description
    }
}

package struct Rule: Sendable {
    package let id: String
    package let severity: String
    package let why: String
    package let source: String

    static let ioctlDoc = "Documentation/driver-api/ioctl.rst"
    static let generalFormat = "include/uapi/linux/iommufd.h, DOC: General ioctl format"

    package static let all: [Rule] = [
        Rule(id: "implicit-hole", severity: "error",
             why: "Padding the compiler inserts between members carries whatever was on the caller's stack. The kernel "
                 + "cannot reject a non-zero value it has no name for, so the bytes can never be given a meaning "
                 + "later, and they leak kernel stack when the struct is copied back. Make the padding an explicit "
                 + "__u32 __reserved that the kernel checks.",
             source: "\(ioctlDoc) (Padding and alignment); \(generalFormat)"),
        Rule(id: "trailing-padding", severity: "error",
             why: "Tail padding makes sizeof larger than the last member's end on some ABIs and not others (i386 "
                 + "aligns __u64 to 4), so the size userspace passes differs per ABI, and the padding is uninitialised "
                 + "data the kernel must treat as reserved.",
             source: "\(ioctlDoc) (32-bit compat mode, Padding and alignment)"),
        Rule(id: "unaligned-u64", severity: "error on ABIs where the layout changes, warning where only alignment does",
             why: "A bare __u64/__s64 is 4-byte aligned on i386 (and 2-byte on m68k), so offsets and sizeof change "
                 + "between 32- and 64-bit userspace and a compat handler would be needed. uAPI structs use "
                 + "__aligned_u64 so every ABI sees one layout.",
             source: "\(ioctlDoc) (32-bit compat mode); \(generalFormat)"),
        Rule(id: "pointer-member", severity: "error",
             why: "A pointer is 4 bytes on 32-bit ABIs and 8 on 64-bit ones, so the struct layout differs and 32-bit "
                 + "processes on 64-bit kernels need a compat path. Pass user pointers as __aligned_u64 and convert "
                 + "with u64_to_user_ptr().",
             source: "\(ioctlDoc) (Pointers)"),
        Rule(id: "packed-struct", severity: "error",
             why: "__packed (attribute packed) gives members alignment 1: the compiler hides misaligned __u64 members "
                 + "instead of making the author fix them, and some architectures then need slow or trapping unaligned "
                 + "accesses. Lay the struct out naturally with explicit reserved fields.",
             source: "\(ioctlDoc) (Padding and alignment)"),
        Rule(id: "non-fixed-width-member", severity: "error",
             why: "bool, int, long and enum types have ABI-dependent size or signedness (long is 4 bytes on ILP32, an "
                 + "enum's size is the compiler's choice). uAPI members use the fixed-width __u8..__u64 / "
                 + "__s8..__s64 types.",
             source: "\(ioctlDoc) (Interface versions, 32-bit compat mode)"),
        Rule(id: "size-not-multiple-of-8", severity: "warning",
             why: "A struct whose size is not a multiple of 8 cannot grow by an __aligned_u64 without first adding "
                 + "padding, and arrays of it misalign 64-bit members. Round up with an explicit reserved field.",
             source: "\(ioctlDoc) (Padding and alignment)"),
        Rule(id: "first-member-not-size", severity: "error",
             why: "iommufd reads the first __u32 as the caller's struct size (copy_struct_from_user extensibility); "
                 + "VFIO reads it as argsz. A struct that starts with anything else cannot be extended and is "
                 + "misdecoded by the dispatcher.",
             source: "\(generalFormat); include/uapi/linux/vfio.h (argsz/flags convention)"),
        Rule(id: "unsigned-fd", severity: "error for inputs, warning for outputs",
             why: "File descriptors are signed (__s32): -1 is the conventional 'none', and an unsigned field turns it "
                 + "into 4294967295. Input fds must be __s32; output fds typed __u32 work but mislead callers.",
             source: "\(ioctlDoc); review of the CCA TSM series (fds are __s32)"),
        Rule(id: "ioctl-number-reuse",
             severity: "error against the header or a released kernel, warning against a posted series",
             why: "_IO() encodes no size or type, so an ioctl number reused with another struct is only caught at run "
                 + "time: an old binary reaches the new handler with the wrong bytes. Every number is checked against "
                 + "the header, the released profiles and every posted series.",
             source: "\(ioctlDoc) (Command number definitions); Documentation/userspace-api/ioctl/ioctl-number.rst"),
        Rule(id: "kernel-only-macro", severity: "error",
             why: "Macros such as BIT(), GENMASK() or FIELD_PREP() exist only inside the kernel; a uAPI header using "
                 + "them compiles only where the user happens to define them. Spell constants out, e.g. (1 << 0).",
             source: "\(ioctlDoc); scripts/headers_install.sh and make headers_check"),
        Rule(id: "abi-layout-differs", severity: "error",
             why: "The same struct must have one size and one set of offsets on every Linux ABI, or 32-bit userspace "
                 + "on a 64-bit kernel (and every cross-architecture VMM) breaks. This compares what clang computes "
                 + "for each ABI the header tree carries.",
             source: "\(ioctlDoc) (32-bit compat mode)"),
        Rule(id: "header-does-not-compile", severity: "error",
             why: "The header must compile on its own in userspace for every ABI; anything else makes every other "
                 + "check meaningless for that ABI.",
             source: "make headers_check; \(ioctlDoc)"),
        Rule(id: "struct-changed-incompatibly", severity: "error",
             why: "A field of an existing struct moved, was removed, shrank or changed type: binaries built against "
                 + "the old header now pass bytes the kernel reads differently. uAPI structs may only grow at the end "
                 + "or give a reserved field a meaning.",
             source: "\(generalFormat) (extensibility); Documentation/dev-tools/checkuapi.rst"),
        Rule(id: "ioctl-number-changed", severity: "error",
             why: "An existing ioctl's number or struct changed, or the ioctl was removed: every existing "
                 + "binary breaks.",
             source: "Documentation/dev-tools/checkuapi.rst"),
        Rule(id: "constant-changed", severity: "error",
             why: "An existing enum value or #define changed: binaries compiled against the old value now mean "
                 + "something else.",
             source: "Documentation/dev-tools/checkuapi.rst"),
        Rule(id: "struct-extended", severity: "info",
             why: "Fields appended at the end of an existing struct: compatible, old binaries pass a smaller size and "
                 + "the kernel zero-fills the rest.",
             source: generalFormat),
        Rule(id: "reserved-put-to-use", severity: "info",
             why: "A reserved field got a name and meaning at the same offset and size: compatible, as long as the "
                 + "kernel rejected non-zero values before.",
             source: generalFormat),
        Rule(id: "profile-mismatch", severity: "error",
             why: "The header does not have what the chosen version profile records (ioctl missing or renumbered, "
                 + "struct size or field offset different, enum value different).",
             source: "fixtures/profiles"),
    ]

    package static func named(_ id: String) -> Rule? { all.first { $0.id == id } }
}
