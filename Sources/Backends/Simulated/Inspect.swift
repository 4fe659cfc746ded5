import Cases
import Layout

extension ObjKind {
    /// The shared vocabulary of object kinds (fuzz oracle, reports).
    var objectKind: ObjectKind {
        switch self {
        case .ioas: return .ioas
        case .hwptPaging: return .hwptPaging
        case .hwptNested: return .hwptNested
        case .device: return .device
        case .viommu: return .viommu
        case .vdevice: return .vdevice
        case .selftest: return .selftest
        case .fault: return .fault
        case .veventq: return .veventq
        case .hwQueue: return .hwQueue
        case .access: return .access
        }
    }
}

/// What the simulator can say about its own state: its object table, the
/// descriptors open, and the invariants of its bookkeeping (the fuzzer
/// checks them after every call).
extension SimulatedKernel {
    /// The objects alive in the iommufd open as `fd`, in id order; nil when
    /// `fd` is not an open iommufd.
    package func objectTable(fd: Int32) -> [(id: UInt32, kind: ObjectKind)]? {
        guard case .iommufd(let c)? = files[fd] else { return nil }
        return c.objects.values.map { ($0.id, $0.kind.objectKind) }
    }

    /// Descriptors open on this kernel.
    package var openDescriptors: [Int32] { files.keys.sorted() }

    /// Every broken invariant of the object bookkeeping, one line each
    /// (empty when the state is consistent).
    package func invariantViolations() -> [String] {
        var out: [String] = []
        for (fd, f) in files.sorted(by: { $0.key < $1.key }) {
            guard case .iommufd(let c) = f else { continue }
            out += violations(c).map { "iommufd \(fd): \($0)" }
        }
        return out
    }

    func violations(_ c: IommufdContext) -> [String] {
        var out: [String] = []
        var holders: [UInt32: Int] = [:]
        for f in files.values {
            switch f {
            case .eventq(let q): if let o = q.object, c.objects[o.id] === o { holders[o.id, default: 0] += 1 }
            case .access(let a): if c.objects[a.id] === a { holders[a.id, default: 0] += 1 }
            default: continue
            }
        }
        var attached: [UInt32: Int] = [:]
        var count = 0
        for o in c.objects.values {
            count += 1
            if c.tombstones.contains(o.id) { out.append("object \(o.id) is alive and a tombstone") }
            for h in o.holds {
                if c.objects[h] == nil { out.append("object \(o.id) holds \(h), which is gone") }
                holders[h, default: 0] += 1
            }
            if let d = o as? DeviceObject, d.attachedHwpt != 0 {
                if c.hwpt(d.attachedHwpt) == nil { out.append("device \(o.id) attached to \(d.attachedHwpt), no HWPT") }
                attached[d.attachedHwpt, default: 0] += 1
            }
            out += links(o, c)
        }
        if count != c.objects.count { out.append("table counts \(c.objects.count) objects, holds \(count)") }
        if c.closed && count > 0 { out.append("closed, \(count) objects left") }
        for o in c.objects.values {
            var want = holders[o.id] ?? 0
            if let h = o as? HwptObject {
                want += h.attachCount
                if h.attachCount != attached[o.id] ?? 0 {
                    out.append("HWPT \(o.id) counts \(h.attachCount) devices, \(attached[o.id] ?? 0) attached")
                }
            }
            if let d = o as? DeviceObject, d.vfio?.devId == d.id { want += 1 }
            if o.users != want { out.append("object \(o.id) (\(o.kind)) has \(o.users) users, \(want) expected") }
        }
        return out
    }

    /// The cross-links of one object (device ↔ vDEVICE ↔ vIOMMU, queues).
    func links(_ o: SimObject, _ c: IommufdContext) -> [String] {
        switch o {
        case let d as DeviceObject where d.vdeviceId != 0:
            return c.vdevice(d.vdeviceId)?.deviceId == d.id ? [] : ["device \(d.id) names vDEVICE \(d.vdeviceId)"]
        case let v as VdeviceObject:
            guard let vi = c.viommu(v.viommuId) else { return ["vDEVICE \(v.id) on gone vIOMMU \(v.viommuId)"] }
            return vi.virtIds[v.virtId] == v.id ? [] : ["vIOMMU \(vi.id) lost virt id \(v.virtId) of \(v.id)"]
        case let vi as ViommuObject:
            return vi.virtIds.compactMap { virt, id in
                c.vdevice(id)?.virtId == virt ? nil : "vIOMMU \(vi.id) maps virt id \(virt) to \(id)"
            }
        case let q as VeventqObject:
            return c.viommu(q.viommuId)?.veventqTypes.contains(q.type) == true ? [] : ["vEVENTQ \(q.id) unlisted"]
        case let q as HwQueueObject:
            return c.viommu(q.viommuId)?.hwQueues.contains(q.index) == true ? [] : ["HW queue \(q.id) unlisted"]
        default:
            return []
        }
    }
}
