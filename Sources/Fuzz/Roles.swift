import Cases
import Layout

/// What an op does to the state the generator tracks, with the fields that
/// say how: resolved from the profile once, by the ioctl's name.
package enum OpRole: Sendable {
    case destroy(id: Int)
    case ioasAlloc
    /// MAP, MAP_FILE (`file`: the fd and start fields) and COPY: an area in `ioas` at `iova`.
    case map(ioas: Int, iova: Int, length: Int, user: Int?, file: (fd: Int, start: Int)?)
    case copy(src: Int, dst: Int, srcIova: Int, dstIova: Int, length: Int)
    case unmap(ioas: Int, iova: Int, length: Int)
    case iovaList(ioas: Int, num: Int, list: Int, output: Bool)
    case option(option: Int, op: Int, object: Int, value: Int)
    case vfioIoas(op: Int, ioas: Int)
    case hwptAlloc(HwptRole)
    case hwInfo(dev: Int, len: Int, data: Int, flags: Int, type: Int)
    case dirtyTracking(hwpt: Int, flags: Int)
    case dirtyBitmap(hwpt: Int, iova: Int, length: Int, pageSize: Int, data: Int)
    case invalidate(hwpt: Int, type: Int, len: Int, num: Int, data: Int)
    case faultAlloc
    case viommuAlloc(type: Int, dev: Int, hwpt: Int, len: Int, data: Int)
    case vdeviceAlloc(viommu: Int, dev: Int, virt: Int)
    case veventqAlloc(viommu: Int, type: Int, depth: Int)
    case hwQueueAlloc(viommu: Int, type: Int, index: Int, iova: Int, length: Int)
    case testCommand(op: Int, id: Int, flags: Int)
    case tsm(vdevice: Int, buffers: [(len: Int, ptr: Int)])
    case vfioBind(iommufd: Int)
    case vfioAttach(pt: Int)
    case other

    /// Whether a successful call may add or remove objects: the table is probed after these and at
    /// the end of every sequence (a hidden object another call makes is caught there, then minimised).
    var changesTable: Bool {
        switch self {
        case .map, .copy, .unmap, .iovaList, .option, .vfioIoas, .hwInfo, .dirtyTracking, .dirtyBitmap, .invalidate,
             .tsm: return false
        default: return true
        }
    }

    // The field indexes of the structs' named fields.
    struct Names {
        let op: FuzzOp
        func callAsFunction(_ name: String) -> Int? { op.field(name) }
    }

    static func resolve(_ op: FuzzOp) -> OpRole {
        let f = Names(op: op)
        if let r = iommufdRole(op.name, f) { return r }
        return vfioOrTsmRole(op.name, f) ?? .other
    }

    private static func iommufdRole(_ name: String, _ f: Names) -> OpRole? {
        switch name {
        case "IOMMU_DESTROY": return f("id").map { .destroy(id: $0) }
        case "IOMMU_IOAS_ALLOC": return .ioasAlloc
        case "IOMMU_IOAS_MAP", "IOMMU_IOAS_MAP_FILE":
            guard let a = f("ioas_id"), let i = f("iova"), let l = f("length") else { return nil }
            let file = f("fd").flatMap { fd in f("start").map { (fd: fd, start: $0) } }
            return .map(ioas: a, iova: i, length: l, user: f("user_va"), file: file)
        case "IOMMU_IOAS_COPY":
            guard let s = f("src_ioas_id"), let d = f("dst_ioas_id"), let si = f("src_iova"),
                  let di = f("dst_iova"), let l = f("length") else { return nil }
            return .copy(src: s, dst: d, srcIova: si, dstIova: di, length: l)
        case "IOMMU_IOAS_UNMAP":
            guard let a = f("ioas_id"), let i = f("iova"), let l = f("length") else { return nil }
            return .unmap(ioas: a, iova: i, length: l)
        case "IOMMU_IOAS_ALLOW_IOVAS", "IOMMU_IOAS_IOVA_RANGES":
            guard let a = f("ioas_id"), let n = f("num_iovas"), let l = f("allowed_iovas") else { return nil }
            return .iovaList(ioas: a, num: n, list: l, output: name == "IOMMU_IOAS_IOVA_RANGES")
        case "IOMMU_OPTION":
            guard let o = f("option_id"), let op = f("op"), let obj = f("object_id"), let v = f("val64") else {
                return nil
            }
            return .option(option: o, op: op, object: obj, value: v)
        case "IOMMU_VFIO_IOAS":
            guard let op = f("op"), let a = f("ioas_id") else { return nil }
            return .vfioIoas(op: op, ioas: a)
        case "IOMMU_HWPT_ALLOC": return HwptRole(f).map { .hwptAlloc($0) }
        case "IOMMU_GET_HW_INFO":
            guard let d = f("dev_id"), let l = f("data_len"), let p = f("data_uptr"), let fl = f("flags"),
                  let t = f("in_data_type") else { return nil }
            return .hwInfo(dev: d, len: l, data: p, flags: fl, type: t)
        case "IOMMU_HWPT_SET_DIRTY_TRACKING":
            guard let h = f("hwpt_id"), let fl = f("flags") else { return nil }
            return .dirtyTracking(hwpt: h, flags: fl)
        case "IOMMU_HWPT_GET_DIRTY_BITMAP":
            guard let h = f("hwpt_id"), let i = f("iova"), let l = f("length"), let p = f("page_size"),
                  let d = f("data") else { return nil }
            return .dirtyBitmap(hwpt: h, iova: i, length: l, pageSize: p, data: d)
        case "IOMMU_HWPT_INVALIDATE":
            guard let h = f("hwpt_id"), let t = f("data_type"), let l = f("entry_len"), let n = f("entry_num"),
                  let d = f("data_uptr") else { return nil }
            return .invalidate(hwpt: h, type: t, len: l, num: n, data: d)
        case "IOMMU_FAULT_QUEUE_ALLOC": return .faultAlloc
        default: return nestedRole(name, f)
        }
    }

    private static func nestedRole(_ name: String, _ f: Names) -> OpRole? {
        switch name {
        case "IOMMU_VIOMMU_ALLOC":
            guard let t = f("type"), let d = f("dev_id"), let h = f("hwpt_id"), let l = f("data_len"),
                  let p = f("data_uptr") else { return nil }
            return .viommuAlloc(type: t, dev: d, hwpt: h, len: l, data: p)
        case "IOMMU_VDEVICE_ALLOC":
            guard let v = f("viommu_id"), let d = f("dev_id"), let x = f("virt_id") else { return nil }
            return .vdeviceAlloc(viommu: v, dev: d, virt: x)
        case "IOMMU_VEVENTQ_ALLOC":
            guard let v = f("viommu_id"), let t = f("type"), let d = f("veventq_depth") else { return nil }
            return .veventqAlloc(viommu: v, type: t, depth: d)
        case "IOMMU_HW_QUEUE_ALLOC":
            guard let v = f("viommu_id"), let t = f("type"), let i = f("index"), let b = f("nesting_parent_iova"),
                  let l = f("length") else { return nil }
            return .hwQueueAlloc(viommu: v, type: t, index: i, iova: b, length: l)
        case "IOMMU_TEST_CMD":
            guard let op = f("op"), let id = f("id"), let fl = f("dev_flags") else { return nil }
            return .testCommand(op: op, id: id, flags: fl)
        default: return nil
        }
    }

    private static func vfioOrTsmRole(_ name: String, _ f: Names) -> OpRole? {
        switch name {
        case "VFIO_DEVICE_BIND_IOMMUFD": return f("iommufd").map { .vfioBind(iommufd: $0) }
        case "VFIO_DEVICE_ATTACH_IOMMUFD_PT": return f("pt_id").map { .vfioAttach(pt: $0) }
        default:
            guard name.hasPrefix("IOMMU_VDEVICE_TSM"), let v = f("vdevice_id") else { return nil }
            let buffers = [("req_len", "req_uptr"), ("resp_len", "resp_uptr")].compactMap { l, p in
                f(l).flatMap { len in f(p).map { (len: len, ptr: $0) } }
            }
            return .tsm(vdevice: v, buffers: buffers)
        }
    }
}

/// IOMMU_HWPT_ALLOC's fields.
package struct HwptRole: Sendable {
    let flags, dev, pt, fault, type, len, data: Int
    init?(_ f: OpRole.Names) {
        guard let fl = f("flags"), let d = f("dev_id"), let p = f("pt_id"), let q = f("fault_id"),
              let t = f("data_type"), let l = f("data_len"), let u = f("data_uptr") else { return nil }
        flags = fl; dev = d; pt = p; fault = q; type = t; len = l; data = u
    }
}
