import Foundation
import Testing
@testable import Layout

/// Released kernels' profiles: made from headers, the kernel source and an
/// earlier profile (ProfileCompletion), with flag masks that name their bits.
struct ReleaseProfileTests {
    @Test func everyProfilesFlagMasksAreTheirConstants() throws {
        let store = try Repo.store()
        for name in store.names {
            let errors = ProfileCheck.flagBitErrors(try store.resolved(name))
            #expect(errors.isEmpty, "\(name): \(errors)")
        }
    }

    @Test func aMaskThatIsNotItsConstantsIsReported() throws {
        var p = try Repo.store().resolved("linux-7.2")
        let i = try #require(p.structs.firstIndex { $0.name == "iommu_hwpt_alloc" })
        p.structs[i].flags = ["flags": 7]
        #expect(ProfileCheck.flagBitErrors(p) == ["iommu_hwpt_alloc.flags: mask 7 but its constants give 15"])
        p.structs[i].flagBits = ["flags": ["IOMMU_HWPT_ALLOC_NEST_PARENT", "IOMMU_HWPT_NOT_THERE"]]
        #expect(ProfileCheck.flagBitErrors(p).contains("iommu_hwpt_alloc.flags: IOMMU_HWPT_NOT_THERE is not defined"))
    }

    /// A small kernel tree: a wrapped dispatch entry, a handler that reads one
    /// reserved field and not the other, vfio handlers in the core and in pci/.
    static func kernelTree() throws -> String {
        let d = try Repo.tempDir()
        let files = [
            "drivers/iommu/iommufd/main.c": """
            #define IOCTL_OP(_ioctl, _fn, _struct, _last) \\
            \t{ .size = sizeof(_struct) }
            static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
            \tIOCTL_OP(IOMMU_DEMO, iommufd_demo, struct iommu_demo,
            \t\t __reserved),
            };
            """,
            "drivers/iommu/iommufd/demo.c": """
            int iommufd_demo(struct iommufd_ucmd *ucmd)
            {
            \tstruct iommu_demo *cmd = ucmd->cmd;
            \tif (cmd->__reserved)
            \t\treturn -EOPNOTSUPP;
            \treturn 0;
            }
            """,
            "drivers/vfio/vfio_main.c": "\tminsz = offsetofend(struct vfio_demo, argsz);\n",
            "drivers/vfio/pci/vfio_pci_core.c": "\t\tminsz = offsetofend(struct vfio_demo, flags);\n",
        ]
        for (path, text) in files {
            let full = d + "/linux-demo/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return d
    }

    @Test func kernelSourceGivesMinimaHandlersAndUnreadFields() throws {
        let d = try Self.kernelTree()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let src = try KernelSource(path: d)
        #expect(src.root.hasSuffix("/linux-demo"))
        #expect(try src.ioctlOps() == [IoctlOpEntry(ioctl: "IOMMU_DEMO", handler: "iommufd_demo",
                                                    structName: "iommu_demo", last: "__reserved")])
        #expect(src.vfioMinimumMember(of: "vfio_demo") == "flags")   // vfio-pci's handler first
        #expect(src.unread(["__reserved", "__reserved2"], handler: "iommufd_demo") == ["__reserved2"])
        #expect(src.unread(["__reserved"], handler: "iommufd_missing") == nil)
    }

    /// Whether a vfio handler checks the tail (copy_struct_from_user) or copies
    /// minsz only, and which flags each path of a handler accepts.
    @Test func kernelSourceGivesTailRulesAndPathFlags() throws {
        let d = try Self.kernelTree()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let files = [
            "drivers/vfio/device_cdev.c": """
            long demo_bind(struct vfio_demo_bind __user *arg)
            {
            \tminsz = offsetofend(struct vfio_demo_bind, out);
            \tret = copy_struct_from_user(&bind, sizeof(bind), arg, bind.argsz);
            }

            long demo_attach(struct vfio_demo_attach __user *arg)
            {
            \tminsz = offsetofend(struct vfio_demo_attach, pt);
            \tif (copy_from_user(&attach, arg, minsz))
            \t\treturn -EFAULT;
            }
            """,
            "drivers/iommu/iommufd/hw_pagetable.c": """
            struct demo *
            demo_paging_alloc(struct iommufd_ctx *ictx,
            \t\t  u32 flags)
            {
            \tconst u32 valid_flags = DEMO_A |
            \t\t\t\tDEMO_B;
            \tif (flags & ~valid_flags)
            \t\treturn ERR_PTR(-EOPNOTSUPP);
            }

            static struct demo *demo_nested_alloc(u32 flags)
            {
            \tif ((flags & ~DEMO_C) || !ops)
            \t\treturn ERR_PTR(-EOPNOTSUPP);
            }
            """,
            "drivers/iommu/iommufd/io_pagetable.c": """
            static int
            iommu_read_and_clear_dirty(struct iommu_domain *domain,
            \t\t\t   unsigned long flags)
            {
            \tret = iova_bitmap_for_each(iter, &arg, __iommu_read_and_clear_dirty);
            }
            """,
        ]
        for (path, text) in files {
            try text.write(toFile: d + "/linux-demo/" + path, atomically: true, encoding: .utf8)
        }
        let src = try KernelSource(path: d)
        #expect(src.vfioChecksTail(of: "vfio_demo_bind") == true)
        #expect(src.vfioChecksTail(of: "vfio_demo_attach") == false)
        #expect(src.vfioChecksTail(of: "vfio_missing") == nil)
        #expect(src.acceptedFlags(in: "demo_paging_alloc") == ["DEMO_A", "DEMO_B"])
        #expect(src.acceptedFlags(in: "demo_nested_alloc") == ["DEMO_C"])
        #expect(src.acceptedFlags(in: "demo_missing") == nil)
        #expect(src.dirtyReadNeedsMappedRange() == true)
        let dropped = "static int\niommu_read_and_clear_dirty(void)\n{\n\tiova_bitmap_for_each(iter, &arg, fn);\n}\n"
        try dropped.write(toFile: d + "/linux-demo/drivers/iommu/iommufd/io_pagetable.c", atomically: true,
                          encoding: .utf8)
        #expect(try KernelSource(path: d).dirtyReadNeedsMappedRange() == false)
    }

    /// Roles carried from an earlier profile: a pointer the kernel-doc does not
    /// call one stays one; an id field loses the object types this version
    /// cannot create (6.12 has no IOMMU_VIOMMU_ALLOC), and keeps them where it can.
    @Test func carriedRolesFollowWhatTheVersionHas() throws {
        let store = try Repo.store()
        let new = try store.resolved("linux-7.2")
        let scope = UapiScope(headers: [])
        let c = ProfileCompletion(like: new, source: nil, scope: scope, probed: scope,
                                  lp64: ABILayout(abi: ABI.named("x86_64")!, structs: [], ioctls: [], constants: [:]))
        func edited(_ name: String) throws -> Profile {
            var p = try store.resolved(name)
            for i in p.structs.indices where p.structs[i].name == "iommu_hwpt_get_dirty_bitmap" {
                p.structs[i].pointerFields = []
            }
            c.carryRoles(&p, new)
            return p
        }
        let old = try edited("linux-6.12"), same = try edited("linux-7.2")
        #expect(old.structure("iommu_hwpt_get_dirty_bitmap")?.pointerFields == ["data"])
        #expect(old.structure("iommu_hwpt_invalidate")?.idFields?["hwpt_id"] == "hwpt_nested")
        #expect(old.structure("vfio_device_attach_iommufd_pt")?.idFields?["pt_id"] == "ioas_or_hwpt")
        #expect(same.structure("iommu_hwpt_invalidate")?.idFields?["hwpt_id"] == "hwpt_nested_or_viommu")
        #expect(same.structure("iommu_hwpt_get_dirty_bitmap")?.pointerFields == ["data"])
    }

    @Test func aFolderWithoutADispatchTableIsBadInput() throws {
        let d = try Repo.tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        #expect(throws: InputError.self) { try KernelSource(path: d) }
    }

    /// Constants appended to an enum after the last one used join a field's
    /// list; sentinels and earlier ones do not.
    @Test func rolesFollowTheHeadersEnums() throws {
        let header = """
        enum demo_type { DEMO_TYPE_DEFAULT = 0, DEMO_TYPE_A = 1, DEMO_TYPE_B = 2, DEMO_TYPE_NEW = 3,
                         DEMO_TYPE_NUM_TYPES };
        """
        let scope = UapiScope(headers: [try HeaderParser.parse(text: header, file: "linux/iommufd.h")])
        let c = ProfileCompletion(like: nil, source: nil, scope: scope, probed: scope,
                                  lp64: ABILayout(abi: ABI.named("x86_64")!, structs: [], ioctls: [], constants: [:]))
        let enums: [String: Int64] = ["DEMO_TYPE_DEFAULT": 0, "DEMO_TYPE_A": 1, "DEMO_TYPE_B": 2, "DEMO_TYPE_NEW": 3,
                                      "DEMO_TYPE_NUM_TYPES": 4]
        let grown = ["DEMO_TYPE_A", "DEMO_TYPE_B", "DEMO_TYPE_NEW"]
        #expect(c.follow(["DEMO_TYPE_A", "DEMO_TYPE_B"], enums: enums) == grown)
        #expect(c.follow(["DEMO_TYPE_A", "DEMO_GONE"], enums: enums) == grown)
    }
}

@Suite("the Linux 6.12 profile", .enabled(if: Repo.haveHeaders612 && Repo.haveHeaders,
                                        Comment(rawValue: Repo.noHeaders612)))
struct Linux612Tests {
    func matches(_ headers: String) throws -> [String] {
        try AbiCheck.run(.init(headers: headers, abis: ["x86_64", "i386"], fixtures: Repo.fixtures)).profileMatches
    }

    @Test func eachTreeMatchesOnlyItsOwnProfile() throws {
        #expect(try matches(Repo.headers612) == ["linux-6.12"])
        #expect(try matches(Repo.headers) == ["linux-7.2"])
    }

    @Test func the612TreeAgainstThe72ProfileNamesWhat72Added() throws {
        let r = try AbiCheck.run(.init(headers: Repo.headers612, abis: ["x86_64"], profile: "linux-7.2",
                                       fixtures: Repo.fixtures))
        let missing = r.findings.filter {
            $0.message.hasPrefix("linux-7.2: ioctl") && $0.message.contains("is missing from the header")
        }
        #expect(missing.count == 6, "\(missing.map(\.message))")
        #expect(r.exitCode == 1)
    }

    /// 7.2's iommufd_test.h defines IOMMU_TEST_INVALIDATE_FLAG_ALL twice, the same
    /// both times: the probe reads the macro once (`scripts/release.sh source linux-7.2`).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: Repo.root + "/.deps/linux-source-7.2/.version")))
    func aMacroDefinedTwiceIsReadOnce() throws {
        var o = ProfileDump.Options(name: "linux-7.2")
        o.kernelSource = Repo.root + "/.deps/linux-source-7.2"
        let made = try ProfileDump.make(tree: try HeaderTree(path: Repo.headers), o)
        #expect(made.ioctls.contains { $0.name == "IOMMU_TEST_CMD" && $0.testOnly == true })
        // What the curated linux-7.2 profile records of its source, the recipe reads there too.
        let curated = try Repo.store().resolved("linux-7.2")
        for name in ["IOMMU_HWPT_GET_DIRTY_BITMAP", "VFIO_DEVICE_BIND_IOMMUFD", "VFIO_DEVICE_FEATURE"] {
            let ioctl = made.ioctl(name), kept = curated.ioctl(name)
            #expect(ioctl?.needsMappedRange == kept?.needsMappedRange && ioctl?.tailChecked == kept?.tailChecked,
                    "\(name)")
        }
        #expect(made.structure("iommu_hwpt_alloc")?.pathFlagBits == curated.structure("iommu_hwpt_alloc")?.pathFlagBits)
    }

    /// The committed profile is what the recipe makes from the pinned packages.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: Repo.source612 + "/.version")))
    func theCommittedProfileIsTheRecipesOutput() throws {
        let store = try Repo.store()
        let committed = try store.resolved("linux-6.12")
        var o = ProfileDump.Options(name: "linux-6.12")
        o.like = try store.resolved("linux-7.2")
        o.kernelSource = Repo.source612
        o.released = true
        let made = try ProfileDump.make(tree: try HeaderTree(path: Repo.headers612), o)
        #expect(made.ioctls == committed.ioctls)
        #expect(made.structs == committed.structs)
        #expect(made.enums == committed.enums)
    }
}
