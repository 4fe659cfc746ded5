import Foundation
import Testing
import Layout
import Cases
import SimulatedBackend

/// Where Linux 6.12 behaves differently from 7.2, the simulator follows the
/// profile's data: each difference is one case run on both, each answering as
/// its own kernel does, and the case's reference says why.
@Suite struct OlderKernel {
    func result(_ profileName: String, _ id: String) throws -> CaseResult {
        let p = try profile(profileName)
        let c = try #require(try Catalogue.cases(for: p).first { $0.id == id }, "\(id) not in \(profileName)")
        let runner = CaseRunner(backend: try SimulatedKernel(profile: p), profile: p)
        return try #require(runner.run([c]).first)
    }

    func reference(_ profileName: String, _ id: String) throws -> String {
        try #require(try Catalogue.cases(for: try profile(profileName)).first { $0.id == id }).reference
    }

    /// 6.12's vfio BIND copies minsz with copy_from_user; 7.2's uses copy_struct_from_user.
    @Test func bindTailIsReadOnlyWhereTheProfileSaysSo() throws {
        let id = "vfio.device_bind_iommufd.size.tail_nonzero_0"
        let old = try result("linux-6.12", id), new = try result("linux-7.2", id)
        #expect(old.status == .pass && old.got == "OK", "\(old)")
        #expect(new.status == .pass && new.got == "E2BIG", "\(new)")
        #expect(try reference("linux-6.12", id).contains("linux-6.12: the handler copies minsz"))
        #expect(try !reference("linux-7.2", id).contains("never read"))
        #expect(try profile("linux-6.12").ioctl("VFIO_DEVICE_BIND_IOMMUFD")?.checksTail == false)
        #expect(try profile("linux-7.2").ioctl("VFIO_DEVICE_BIND_IOMMUFD")?.checksTail == true)
    }

    /// Bits 7.2 defines are undefined in 6.12: refused there, and the reference names what 6.12 defines.
    @Test(arguments: [("vfio.device_bind_iommufd.flags.flags.bit0", "EINVAL"),
                      ("vfio.device_attach_iommufd_pt.flags.flags.bit0", "EINVAL"),
                      ("vfio.device_detach_iommufd_pt.flags.flags.bit0", "EINVAL"),
                      ("iommufd.hwpt_alloc.flags.flags.bit3", "EOPNOTSUPP"),
                      ("iommufd.get_hw_info.flags.flags.bit0", "EOPNOTSUPP")])
    func flagBitsOnlyLaterKernelsDefine(_ id: String, _ errno: String) throws {
        let r = try result("linux-6.12", id)
        #expect(r.status == .pass && r.got == errno, "\(r)")
        #expect(try reference("linux-6.12", id).contains("linux-6.12 defines"))
        // 7.2 defines the bit: no such case there.
        #expect(try !Catalogue.cases(for: try profile("linux-7.2")).contains { $0.id == id })
    }

    /// 6.12's paging HWPT takes no FAULT_ID_VALID (path_flag_bits); 7.2's looks fault_id up.
    @Test func faultIdOnAPagingHwpt() throws {
        let id = "iommufd.hwpt_alloc.size_min_fault_id_valid"
        #expect(try result("linux-6.12", id).got == "EOPNOTSUPP")
        #expect(try result("linux-7.2", id).got == "ENOENT")
        #expect(try reference("linux-6.12", id).contains("linux-6.12: EOPNOTSUPP"))
        // Without the path's bits the simulator refuses the profile at load.
        var p = try profile("linux-6.12")
        let i = try #require(p.structs.firstIndex { $0.name == "iommu_hwpt_alloc" })
        p.structs[i].pathFlagBits = nil
        #expect(throws: InputError.self) { try SimulatedKernel(profile: p) }
    }

    /// 6.12 refuses the dirty bits of a range with a hole (needs_mapped_range); 7.2 reads it as clean.
    @Test func dirtyBitsOfAnUnmappedRange() throws {
        let id = "iommufd.hwpt_get_dirty_bitmap.unmapped_range"
        #expect(try result("linux-6.12", id).got == "EINVAL")
        #expect(try result("linux-7.2", id).got == "OK")
        #expect(try reference("linux-6.12", id).contains("needs_mapped_range"))
        // The same profile without the record: the simulator reads the range as clean.
        var p = try profile("linux-6.12")
        let i = try #require(p.ioctls.firstIndex { $0.name == "IOMMU_HWPT_GET_DIRTY_BITMAP" })
        p.ioctls[i].needsMappedRange = nil
        let c = try #require(try Catalogue.cases(for: p).first { $0.id == id })
        let r = try #require(CaseRunner(backend: try SimulatedKernel(profile: p), profile: p).run([c]).first)
        #expect(r.status == .fail && r.got == "OK")
    }

    /// 6.12's INVALIDATE looks hwpt_id up as a nested HWPT (another type: ENOENT);
    /// 7.2's as any object, then checks the type (EINVAL).
    @Test func invalidateOnTheWrongType() throws {
        let id = "iommufd.hwpt_invalidate.id.hwpt_id.wrong_type"
        #expect(try result("linux-6.12", id).got == "ENOENT")
        #expect(try result("linux-7.2", id).got == "EINVAL")
        let old = try #require(try Catalogue.cases(for: try profile("linux-6.12")).first { $0.id == id })
        #expect(old.setup.contains(.nestedHwpt))
        #expect(try reference("linux-6.12", id).contains("linux-6.12: hwpt_id names hwpt_nested"))
        #expect(try reference("linux-7.2", id).contains("linux-7.2: hwpt_id names hwpt_nested_or_viommu"))
    }

    /// A hand-written case that needs what 6.12 lacks (a vIOMMU, the dma-buf
    /// feature) is not part of its catalogue; on 7.2 it is.
    @Test func casesNeedingLaterUapiAreLeftOutOfOlderCatalogues() throws {
        let old = Set(try Catalogue.cases(for: try profile("linux-6.12")).map(\.id))
        let new = Set(try Catalogue.cases(for: try profile("linux-7.2")).map(\.id))
        for id in ["iommufd.viommu_alloc.not_nest_parent", "iommufd.destroy.busy.hwpt_held_by_viommu",
                   "vfio.device_feature.dma_buf.probe"] {
            #expect(!old.contains(id) && new.contains(id), "\(id)")
        }
        #expect(old.contains("iommufd.destroy.busy.ioas_held_by_hwpt"))
    }

    /// The same case read for 6.12 by `run --cases` is refused, naming what is missing.
    @Test func aUserCaseFileStillRefusesWhatTheProfileLacks() throws {
        let json = #"[{"id": "x.viommu", "ioctl": "IOMMU_VIOMMU_ALLOC", "expect": "EINVAL"}]"#
        let p = try profile("linux-6.12")
        #expect(throws: InputError.self) { try CaseFile.parse(Data(json.utf8), name: "f.json", profiles: [p]) }
        #expect(try CaseFile.parse(Data(json.utf8), name: "f.json", profiles: [p], leaveOutGaps: true).isEmpty)
        let constant = #"[{"id": "x.feature", "ioctl": "VFIO_DEVICE_FEATURE", "expect": "OK", "#
            + #""fields": {"flags": "VFIO_DEVICE_FEATURE_DMA_BUF"}}]"#
        #expect(throws: InputError.self) { try CaseFile.parse(Data(constant.utf8), name: "f.json", profiles: [p]) }
        #expect(try CaseFile.parse(Data(constant.utf8), name: "f.json", profiles: [try profile("linux-7.2")])
            .count == 1)
    }

    /// An id field with several object types is a lookup of any object, then a type check.
    @Test func idTypesDecideTheWrongTypeErrno() {
        #expect(Baseline.IdRule.forObject("hwpt_nested_or_viommu").wrongType == .EINVAL)
        #expect(Baseline.IdRule.forObject("hwpt_nested").wrongType == .ENOENT)
        #expect(IdFieldType("ioas_or_hwpt").types == ["ioas", "hwpt"])
        #expect(!IdFieldType("viommu").checkedAfterLookup)
    }
}
