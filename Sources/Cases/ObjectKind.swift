/// The kinds of iommufd object a fuzz sequence creates and the table oracle
/// compares. Names follow the profile's `id_fields` vocabulary.
package enum ObjectKind: String, CaseIterable, Sendable, Hashable {
    case ioas, device, hwptPaging = "hwpt_paging", hwptNested = "hwpt_nested", viommu, vdevice, fault, veventq
    case hwQueue = "hw_queue", selftest, access

    /// The kinds an id field of profile type `type` takes: `any`, one kind,
    /// `hwpt` (paging or nested) or several joined by `_or_`.
    package static func accepted(by type: String) -> Set<ObjectKind> {
        if type == "any" { return Set(allCases) }
        var out: Set<ObjectKind> = []
        for token in type.components(separatedBy: "_or_") {
            switch token {
            case "hwpt": out.formUnion([.hwptPaging, .hwptNested])
            case "hwpt_nested": out.insert(.hwptNested)
            case "hwpt_paging": out.insert(.hwptPaging)
            default: if let k = ObjectKind(rawValue: token) { out.insert(k) }
            }
        }
        return out
    }

    /// The kind an `out_*` id field creates, by its name; nil for the HWPT,
    /// whose kind depends on its parent, and for names that create nothing.
    package static func created(byField name: String) -> ObjectKind? {
        switch name {
        case "out_ioas_id": return .ioas
        case "out_fault_id": return .fault
        case "out_viommu_id": return .viommu
        case "out_vdevice_id": return .vdevice
        case "out_veventq_id": return .veventq
        case "out_hw_queue_id": return .hwQueue
        case "out_stdev_id": return .selftest
        case "out_idev_id", "out_devid": return .device
        default: return nil
        }
    }
}
