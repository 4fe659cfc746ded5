import Cases
import Layout
import Testing
@testable import SimulatedBackend

/// Every field and constant a handler reads is resolved when the kernel is
/// created: a name the profile lacks fails there, never as a silent 0 later.
@Suite struct LoadTimeResolution {
    func loadError(_ p: Profile) -> String? {
        do { _ = try SimulatedKernel(profile: p); return nil } catch let e as InputError { return e.message } catch {
            return "\(error)"
        }
    }

    /// The profile with `field` of `structName` renamed to `to`.
    func renaming(_ name: String, _ structName: String, _ field: String, to: String) -> Profile {
        var p = Fixtures.profile(name)
        let i = p.structs.firstIndex { $0.name == structName }!
        for j in p.structs[i].lp64.fields.indices where p.structs[i].lp64.fields[j].name == field {
            p.structs[i].lp64.fields[j].name = to
        }
        return p
    }

    @Test(arguments: ["linux-6.12", "linux-7.2", "tsm-v2", "tsm-v5", "tsm-post-v5", "tsm-vfio-rfc"])
    func everyShippedProfileLoads(_ name: String) {
        #expect(loadError(Fixtures.profile(name)) == nil)
    }

    @Test func aMisspeltFieldFailsAtLoad() throws {
        let p = Fixtures.profile("linux-7.2")
        let r = try FieldResolver(ioctl: "IOMMU_IOAS_MAP", structName: "iommu_ioas_map", profile: p)
        #expect(try r("flags").offset == 4)
        #expect(throws: InputError.self) { try r("flagz") }
        // The same mismatch seen from the other side: the handler's name is
        // not in the profile's struct, so creating the kernel fails.
        let msg = try #require(loadError(renaming("linux-7.2", "iommu_ioas_map", "flags", to: "flagz")))
        #expect(msg.contains("struct iommu_ioas_map has no field 'flags'"), "\(msg)")
        #expect(msg.contains("IOMMU_IOAS_MAP"))
        #expect(!msg.contains("\n"))
    }

    @Test func aMissingConstantFailsAtLoad() throws {
        var p = Fixtures.profile("linux-7.2")
        p.enums["IOMMU_VIOMMU_TYPE_SELFTEST"] = nil
        let msg = try #require(loadError(p))
        #expect(msg.contains("no constant IOMMU_VIOMMU_TYPE_SELFTEST"), "\(msg)")
    }

    /// Fields only some versions have are chosen by the profile, not read as 0 when absent.
    @Test func versionFieldsAreExplicit() throws {
        // tsm-v2 says IOMMU_VIOMMU_KVM_FD exists: its vIOMMU struct must carry kvm_vm_fd.
        let v2 = try #require(loadError(renaming("tsm-v2", "iommu_viommu_alloc", "kvm_vm_fd", to: "kvm_fd")))
        #expect(v2.contains("no field 'kvm_vm_fd'"), "\(v2)")
        // TSM_OP has `op` (v2) or `type` (v5): neither is an error.
        let op = try #require(loadError(renaming("tsm-v5", "iommu_vdevice_tsm_op", "type", to: "kind")))
        #expect(op.contains("exactly one of type, op"), "\(op)")
        // v5's TSM_REQ needs scope; post-v5's needs tvm_arch's companions.
        let v5 = try #require(loadError(renaming("tsm-v5", "iommu_vdevice_tsm_req", "scope", to: "scop")))
        #expect(v5.contains("no field 'scope'"), "\(v5)")
        let post = try #require(loadError(renaming("tsm-post-v5", "iommu_vdevice_tsm_req", "tsm_code", to: "code")))
        #expect(post.contains("no field 'tsm_code'"), "\(post)")
    }

    @Test func vfioFieldsResolveToo() throws {
        let msg = try #require(loadError(renaming("linux-7.2", "vfio_device_feature_dma_buf", "nr_ranges", to: "n")))
        #expect(msg.contains("struct vfio_device_feature_dma_buf has no field 'nr_ranges'"), "\(msg)")
        #expect(msg.contains("VFIO_DEVICE_FEATURE"))
    }
}
