import Foundation

/// What the suite checks in a header tree: every iommufd ioctl and struct, and
/// the vfio device-fd ioctls on the iommufd/cdev/feature path with the structs
/// reachable from them.
package struct UapiScope: Sendable {
    package struct Ioctl: Sendable {
        package let name: String
        package let family: IoctlFamily
        package let structName: String?
        package let location: SourceLocation
    }

    package let headers: [HeaderDecls]
    package let ioctls: [Ioctl]
    /// Records to probe, in header order.
    package let records: [RecordDecl]
    /// Object-like macros and enum constants to evaluate.
    package let constants: [(name: String, location: SourceLocation)]

    /// vfio ioctls on the device fd that take part in iommufd/TSM flows, and
    /// the type1 container ioctls iommufd serves on /dev/iommu (vfio_compat.c).
    package static let vfioIoctls: Set<String> = [
        "VFIO_DEVICE_GET_INFO", "VFIO_DEVICE_GET_REGION_INFO", "VFIO_DEVICE_FEATURE",
        "VFIO_DEVICE_BIND_IOMMUFD", "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "VFIO_DEVICE_DETACH_IOMMUFD_PT",
        "VFIO_IOMMU_GET_INFO", "VFIO_IOMMU_MAP_DMA", "VFIO_IOMMU_UNMAP_DMA",
        // TSM proposals (RFC 19/30) and anything a patch adds get picked up by prefix below.
        "VFIO_DEVICE_TSM_BIND", "VFIO_DEVICE_TSM_UNBIND",
    ]
    static let vfioStructPrefixes = ["vfio_device_feature", "vfio_region_info", "vfio_region_sparse_mmap_area",
                                     "vfio_region_dma_range", "vfio_info_cap_header", "vfio_device_info",
                                     "vfio_device_bind_iommufd", "vfio_device_attach_iommufd_pt",
                                     "vfio_device_detach_iommufd_pt", "vfio_device_low_power", "vfio_precopy_info",
                                     "vfio_pci_tsm", "vfio_device_tsm", "vfio_iommu_type1_info_cap_iova_range",
                                     "vfio_iommu_type1_info_dma_avail"]
    /// A type1 container ioctl, sent to /dev/iommu rather than a device fd.
    package static func isContainerIoctl(_ name: String) -> Bool { vfioStructOf[name] != nil }

    /// The type1 ioctls' doc comments name structs vfio.h no longer has
    /// (`struct vfio_iommu_info`); these are the ones the handlers read.
    static let vfioStructOf = ["VFIO_IOMMU_GET_INFO": "vfio_iommu_type1_info",
                               "VFIO_IOMMU_MAP_DMA": "vfio_iommu_type1_dma_map",
                               "VFIO_IOMMU_UNMAP_DMA": "vfio_iommu_type1_dma_unmap"]

    /// `extraVfioIoctls`: vfio ioctls a patch adds, which are in scope too.
    package init(headers: [HeaderDecls], extraVfioIoctls: Set<String> = []) {
        self.headers = headers
        var ioctls: [Ioctl] = []
        var records: [RecordDecl] = []
        var constants: [(String, SourceLocation)] = []
        for h in headers {
            let family: IoctlFamily = h.file.hasSuffix("iommufd.h") ? .iommufd : .vfio
            let byDoc = Dictionary(h.records.compactMap { r in r.doc?.ioctlName.map { ($0, r.name ?? "") } },
                                   uniquingKeysWith: { a, _ in a })
            for m in h.macros where m.isIoctlDefinition {
                if family == .vfio && !(UapiScope.vfioIoctls.contains(m.name) || extraVfioIoctls.contains(m.name)) {
                    continue
                }
                let structName = m.ioctlStructArgument ?? UapiScope.vfioStructOf[m.name] ?? byDoc[m.name]
                    ?? h.docLinks[m.name]
                    ?? (family == .iommufd ? UapiScope.precedingRecord(in: h, before: m.location.line)?.name : nil)
                ioctls.append(Ioctl(name: m.name, family: family, structName: structName, location: m.location))
            }
            if family == .iommufd {
                records += h.records.filter { $0.name != nil }
            } else {
                var wanted = Set(ioctls.filter { $0.family == .vfio }.compactMap(\.structName))
                for r in h.records {
                    if let n = r.name, UapiScope.vfioStructPrefixes.contains(where: n.hasPrefix) { wanted.insert(n) }
                }
                // Close over member types (e.g. dma_ranges[] → vfio_region_dma_range).
                var changed = true
                while changed {
                    changed = false
                    for r in h.records where wanted.contains(r.name ?? "") {
                        for m in r.leafMembers { if let t = m.recordTypeName,
                                                !wanted.contains(t) { wanted.insert(t); changed = true } }
                    }
                }
                records += h.records.filter { wanted.contains($0.name ?? "") }
            }
            for e in h.enums { for c in e.constants { constants.append((c.name, c.location)) } }
            for m in h.macros where m.parameters == nil && UapiScope.looksLikeIntegerConstant(m) {
                constants.append((m.name, m.location))
            }
        }
        self.ioctls = ioctls
        self.records = records
        self.constants = constants
    }

    static func precedingRecord(in h: HeaderDecls, before line: Int) -> RecordDecl? {
        h.records.filter { $0.location.line < line }.max { $0.location.line < $1.location.line }
    }

    /// Object-like macros worth evaluating: not include guards, not types,
    /// not strings, not attribute spellings.
    static func looksLikeIntegerConstant(_ m: MacroDecl) -> Bool {
        let b = m.body
        if b.isEmpty || b.hasPrefix("\"") || b.hasPrefix("__attribute") || b.hasPrefix("struct ") { return false }
        if m.name.hasPrefix("_") && m.name.hasSuffix("_H") { return false }
        if b.range(of: #"^(__[us](8|16|32|64)|__aligned_u64|unsigned|int|long|char)\b"#,
                   options: .regularExpression) != nil {
            return false
        }
        return true
    }

    package var familyOf: [String: IoctlFamily] {
        Dictionary(ioctls.map { ($0.name, $0.family) }, uniquingKeysWith: { a, _ in a })
    }

    package func record(named name: String) -> RecordDecl? { records.first { $0.name == name } }
    package func ioctl(named name: String) -> Ioctl? { ioctls.first { $0.name == name } }
    package func macro(named name: String) -> MacroDecl? {
        for h in headers { if let m = h.macro(named: name) { return m } }
        return nil
    }
}
