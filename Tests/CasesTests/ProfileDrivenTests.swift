import Testing
import Layout
import Cases

/// The profile's behavioural fields drive the catalogue: change the data and
/// the generated cases follow.
@Suite struct ProfileDriven {
    func ids(_ p: Profile, _ prefix: String) throws -> [String] {
        try Catalogue.cases(for: p).map(\.id).filter { $0.hasPrefix(prefix) }
    }

    func edit(_ p: inout Profile, _ structName: String, _ change: (inout ProfileStruct) -> Void) {
        if let i = p.structs.firstIndex(where: { $0.name == structName }) { change(&p.structs[i]) }
    }

    @Test func idFieldsDecideWhichFieldsGetIdCases() throws {
        var p = try profile("linux-7.2")
        #expect(try ids(p, "iommufd.destroy.id.").sorted() == ["iommufd.destroy.id.id.unknown_large",
                                                                 "iommufd.destroy.id.id.unknown_zero"])
        // A field the profile no longer calls an id: no id cases.
        edit(&p, "iommu_destroy") { $0.idFields = nil }
        #expect(try ids(p, "iommufd.destroy.id.").isEmpty)
        // The object type picks the wrong-type object: an IOAS field gets a fault queue.
        var q = try profile("linux-7.2")
        edit(&q, "iommu_vdevice_alloc") { $0.idFields?["virt_id"] = "ioas" }
        let c = try #require(try Catalogue.cases(for: q).first { $0.id == "iommufd.vdevice_alloc.id.virt_id.wrong_type" })
        #expect(c.call.fields["virt_id"] == .ref("fault"))
        #expect(SetupStep.chain(c.setup).contains(.fault))
    }

    @Test func fdFieldsDecideWhatIsClosedAtTeardown() throws {
        var p = try profile("linux-7.2")
        let outs = Call.Output.created(by: "IOMMU_FAULT_QUEUE_ALLOC", profile: p)
        #expect(outs == [.init("out_fault_id", .object), .init("out_fault_fd", .fd)])
        edit(&p, "iommu_fault_alloc") { $0.fdFields = [] }
        #expect(Call.Output.created(by: "IOMMU_FAULT_QUEUE_ALLOC", profile: p) == [.init("out_fault_id", .object)])
        // The selftest command's ids belong to its mock device.
        #expect(Call.Output.created(by: "IOMMU_TEST_CMD", profile: p).isEmpty)
    }

    /// A buffer only ever goes into a field the profile calls a pointer.
    @Test(arguments: allProfiles)
    func buffersGoIntoPointerFields(_ name: String) throws {
        let p = try profile(name)
        for c in try Catalogue.cases(for: p) {
            for call in c.before + [c.call] {
                guard let s = p.ioctl(call.ioctl).flatMap({ p.structure($0.struct) }) else { continue }
                for (field, v) in call.fields {
                    if case .buffer = v { #expect(s.pointerFields.contains(field), "\(c.id): \(field)") }
                }
            }
        }
        for step in SetupStep.allCases {
            for case .call(let call) in (try? step.actions(profile: p)) ?? [] {
                guard let s = p.ioctl(call.ioctl).flatMap({ p.structure($0.struct) }) else { continue }
                for (field, v) in call.fields {
                    if case .buffer = v { #expect(s.pointerFields.contains(field), "setup \(step): \(field)") }
                }
            }
        }
    }

    @Test func flagMasksComeFromTheProfile() throws {
        var p = try profile("linux-7.2")
        #expect(try ids(p, "iommufd.ioas_map.flags.flags.bit").count == 29)
        edit(&p, "iommu_ioas_map") { $0.flags = ["flags": 0xf] }
        #expect(try ids(p, "iommufd.ioas_map.flags.flags.bit").count == 28)
        #expect(try !ids(p, "iommufd.ioas_map.flags.flags.bit").contains("iommufd.ioas_map.flags.flags.bit3"))
    }
}
