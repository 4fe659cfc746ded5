import Testing
@testable import Layout

@Suite struct HeaderParserTests {
    static let sample = """
    /* SPDX: made-up header for parser tests */
    #ifndef _DEMO_H
    #define _DEMO_H
    #include <linux/types.h>
    enum {
    \tDEMO_CMD_BASE = 0x80,
    \tDEMO_CMD_ONE = DEMO_CMD_BASE,
    \tDEMO_CMD_TWO,
    };
    /**
     * struct demo_one - ioctl(DEMO_ONE)
     * @size: sizeof(struct demo_one)
     * @__reserved: Must be 0
     * @buf: user pointer to the bytes
     */
    struct demo_one {
    \t__u32 size;
    \t__u32 __reserved;
    #define DEMO_FLAG_A (1 << 0) /* a flag defined inside the struct */
    \t__aligned_u64 buf;
    \tunion {
    \t\t__u32 in_type;
    \t\t__u32 out_type;
    \t};
    \t__u8 *raw, tail[3];
    \t__u32 bits : 4;
    \tstruct demo_range ranges[] __counted_by(size);
    } __attribute__((packed));
    #define DEMO_ONE _IO(';', DEMO_CMD_ONE)
    #define DEMO_TWO _IOWR(';', 0x81, struct demo_two)
    #define DEMO_MASK(n) ((n) & 3)
    #endif
    """

    @Test func readsMembersAttributesAndMacros() throws {
        let h = try HeaderParser.parse(text: Self.sample, file: "linux/demo.h")
        let r = try #require(h.record(named: "demo_one"))
        #expect(r.isPacked)
        #expect(r.doc?.ioctlName == "DEMO_ONE")
        #expect(r.doc?.fieldSaysMustBeZero("__reserved") == true)
        let names = r.leafMembers.compactMap(\.name)
        #expect(names == ["size", "__reserved", "buf", "in_type", "out_type", "raw", "tail", "bits", "ranges"])
        let raw = try #require(r.leafMembers.first { $0.name == "raw" })
        #expect(raw.isPointer && raw.type == "__u8")
        let tail = try #require(r.leafMembers.first { $0.name == "tail" })
        #expect(!tail.isPointer && tail.arrayDims == ["3"])
        #expect(r.leafMembers.first { $0.name == "bits" }?.bitWidth == "4")
        let ranges = try #require(r.leafMembers.first { $0.name == "ranges" })
        #expect(ranges.isFlexibleArray && ranges.recordTypeName == "demo_range")
        #expect(ranges.attributes.contains { $0.hasPrefix("__counted_by") })
        #expect(r.leafMembers.first { $0.name == "buf" }?.location.line == 20)
        #expect(h.macro(named: "DEMO_FLAG_A")?.body == "(1 << 0)")
        #expect(h.macro(named: "DEMO_ONE")?.isIoctlDefinition == true)
        #expect(h.macro(named: "DEMO_TWO")?.ioctlStructArgument == "demo_two")
        #expect(h.macro(named: "DEMO_MASK")?.parameters == ["n"])
        #expect(h.enums.first?.constants.map(\.name) == ["DEMO_CMD_BASE", "DEMO_CMD_ONE", "DEMO_CMD_TWO"])
    }

    @Test func unterminatedStructIsAnInputError() {
        #expect(throws: InputError.self) { try HeaderParser.parse(text: "struct broken {\n __u32 a;\n", file: "x.h") }
    }

    @Test func gapsFindHolesAndTailPadding() {
        let s = StructLayout(name: "s", size: 32, align: 8, fields: [
            FieldLayout(name: "a", offset: 0, size: 4), FieldLayout(name: "b", offset: 8, size: 8),
            FieldLayout(name: "c", offset: 16, size: 4)])
        #expect(s.gaps.holes == [4..<8])
        #expect(s.gaps.trailing == 20..<32)
        let union = StructLayout(name: "u", size: 8, align: 4, fields: [
            FieldLayout(name: "x", offset: 0, size: 4), FieldLayout(name: "y", offset: 0, size: 4), FieldLayout(name: "z", offset: 4, size: 4)])
        #expect(union.gaps.holes.isEmpty && union.gaps.trailing == nil)
    }
}
