import Cases
import Layout

/// Object kinds of the iommufd object table.
enum ObjKind: Sendable {
    case ioas, hwptPaging, hwptNested, device, viommu, vdevice, selftest, fault, veventq, hwQueue, access
}

struct Mapping {
    var iova: UInt64
    var length: UInt64
    var file: Bool
    /// IOMMU_IOAS_MAP_READABLE / _WRITEABLE (VFIO_DMA_MAP_FLAG_READ / _WRITE).
    var readable = true, writable = true
    /// Its pages are pinned writable (the first map was WRITEABLE): a copy may map them writable (else EPERM).
    var pagesWritable = true
    /// The user address (or file offset) of its first byte: a copy's allocated IOVA keeps its alignment.
    var addr: UInt64 = 0
    /// A file no domain can pin (a queue, iommufd or device descriptor): adding a domain is EINVAL.
    var unpinnable = false
    /// Its user range is mapped memory (NULL or unmapped pins as EFAULT once a domain is added).
    var userMapped = true
    /// The iopt_pages it maps: a copy shares its source's, and the pages are pinned once for all their users.
    var pages: UInt64 = 0
    /// The file IOAS_MAP_FILE mapped, where the host says which (under the preload).
    var fileKey: FileKey?
}

/// One iommufd object: what every kind has. The state of a kind lives in its
/// subclass below; selftest objects and fault queues have none of their own.
class SimObject {
    let id: UInt32
    let kind: ObjKind
    /// Held by other objects (or by the owning driver); destroy → EBUSY while > 0.
    var users = 0
    /// Objects this one holds a `users` reference on.
    var holds: [UInt32] = []

    init(id: UInt32, kind: ObjKind) { self.id = id; self.kind = kind }
}

final class IoasObject: SimObject {
    var mappings: [Mapping] = []
    var allowed: [(UInt64, UInt64)] = []
    /// Ranges the selftest's ADD_RESERVED took out of the IOVA space, inclusive.
    var reserved: [(UInt64, UInt64)] = []
    var hugePages: UInt64 = 1
    init(id: UInt32) { super.init(id: id, kind: .ioas) }

    /// The index of the area holding `iova`, if one does.
    func mappingIndex(at iova: UInt64) -> Int? {
        mappings.firstIndex { iova >= $0.iova && iova - $0.iova < $0.length }
    }

    /// The area holding `iova`, if one does.
    func mapping(at iova: UInt64) -> Mapping? { mappingIndex(at: iova).map { mappings[$0] } }
}

/// A paging or a nested HWPT.
final class HwptObject: SimObject {
    /// The IOAS the page table maps (for a nested one: its parent's).
    let ioasId: UInt32
    var nestParent = false
    var dirtyCapable = false
    var dirtyEnabled = false
    /// Created by an attach or the mock; goes away with its last device.
    var auto = false
    var attachCount = 0
    /// Allocated with IOMMU_HWPT_ALLOC_PASID: PASIDs may attach to it.
    var pasidCompat = false
    /// A mock domain of MOCK_IOMMUPT_HUGE: 1 MiB page-table entries, the whole 56-bit space.
    var hugeMock = false
    /// The IOVAs of the page-table entries the mock's dirty bit is set on.
    var dirty: Set<UInt64> = []
    /// The mock's IOTLB of a nested HWPT: the allocation's value in each entry, 0 once invalidated.
    var iotlb = [UInt32](repeating: 0, count: Selftest.iotlbEntries)
    init(id: UInt32, nested: Bool, ioasId: UInt32) {
        self.ioasId = ioasId
        super.init(id: id, kind: nested ? .hwptNested : .hwptPaging)
    }
}

final class DeviceObject: SimObject {
    /// The PCI function behind a vfio-bound device; nil for the selftest mock.
    let pci: SimPciDevice?
    /// MOCK_FLAGS_DEVICE_* of a mock device.
    let mockFlags: UInt32
    var attachedHwpt: UInt32 = 0
    var vdeviceId: UInt32 = 0
    /// PASIDs other than 0 and the HWPT each is attached to (the mock's PASID ops).
    var pasids: [UInt32: UInt32] = [:]
    /// PASID 1024's fake driver error fires on the next change of its domain.
    var pasid1024Armed = false
    /// The mock device's cache entries (IOMMU_TEST_DEV_CACHE_DEFAULT), 0 once a vIOMMU invalidates them.
    var cache = [UInt32](repeating: Selftest.devCacheDefault, count: Int(Selftest.cacheIdMax) + 1)
    /// The vfio file that bound this device.
    weak var vfio: VfioFile?
    init(id: UInt32, pci: SimPciDevice?, mockFlags: UInt32 = 0) {
        self.pci = pci; self.mockFlags = mockFlags
        super.init(id: id, kind: .device)
    }
}

final class ViommuObject: SimObject {
    /// A KVM is associated (TSM_OP needs one).
    let kvm: Bool
    var veventqTypes: Set<UInt32> = []
    /// Virtual device id → vDEVICE object id.
    var virtIds: [UInt64: UInt32] = [:]
    var hwQueues: Set<UInt32> = []
    /// Made on a mock device: the mock's IOMMU driver, not the PCI devices'
    /// (viommu->iommu_dev: a device behind the other one is EINVAL).
    var mockIommu = false
    init(id: UInt32, kvm: Bool) { self.kvm = kvm; super.init(id: id, kind: .viommu) }
    func serves(_ dev: DeviceObject) -> Bool { mockIommu == (dev.pci == nil) }
}

final class VdeviceObject: SimObject {
    let viommuId: UInt32
    let deviceId: UInt32
    let virtId: UInt64
    init(id: UInt32, viommuId: UInt32, deviceId: UInt32, virtId: UInt64) {
        self.viommuId = viommuId; self.deviceId = deviceId; self.virtId = virtId
        super.init(id: id, kind: .vdevice)
    }
}

final class VeventqObject: SimObject {
    let viommuId: UInt32
    let type: UInt32
    let queue: EventQueue
    init(id: UInt32, viommuId: UInt32, type: UInt32, depth: UInt64) {
        self.viommuId = viommuId; self.type = type; queue = EventQueue(.vevent(depth: depth))
        super.init(id: id, kind: .veventq)
    }
}

final class HwQueueObject: SimObject {
    let viommuId: UInt32
    let index: UInt32
    /// The IOAS range its memory is pinned from: no unmap may take it while the queue lives (EBUSY).
    var ioasId: UInt32 = 0, base: UInt64 = 0, length: UInt64 = 0
    /// Its internal access (iommufd_access_create_internal): an object of its own, gone with the queue.
    var accessId: UInt32 = 0
    init(id: UInt32, viommuId: UInt32, index: UInt32) {
        self.viommuId = viommuId; self.index = index
        super.init(id: id, kind: .hwQueue)
    }
}

/// The iommufd object table. Ids are small (lowest free id ≥ 1), so a slot
/// array indexed by id stands in for a dictionary: no hashing per lookup.
/// Iteration is in id order.
struct ObjectTable {
    private var slots: [SimObject?] = []
    private(set) var count = 0
    var isEmpty: Bool { count == 0 }

    subscript(id: UInt32) -> SimObject? {
        get {
            let i = Int(id)
            return i < slots.count ? slots[i] : nil
        }
        set {
            let i = Int(id)
            if i >= slots.count {
                guard newValue != nil else { return }
                slots.append(contentsOf: repeatElement(nil, count: i + 1 - slots.count))
            }
            count += (newValue == nil ? 0 : 1) - (slots[i] == nil ? 0 : 1)
            slots[i] = newValue
        }
    }

    var values: some Sequence<SimObject> {
        slots.lazy.compactMap { $0 }
    }

    mutating func removeAll() {
        slots.removeAll(keepingCapacity: true)
        count = 0
    }
}

/// State of one open /dev/iommu.
final class IommufdContext {
    var objects = ObjectTable()
    var tombstones: Set<UInt32> = []
    var vfioCompatIoas: UInt32 = 0
    var rlimitMode: UInt64 = 0
    var closed = false
    /// Regions the file offers to mmap (Mmaps.swift).
    var mmaps: [MmapRegion] = []

    // Typed lookups: the object `id` if it is of that kind.
    func ioas(_ id: UInt32) -> IoasObject? { objects[id] as? IoasObject }
    func hwpt(_ id: UInt32) -> HwptObject? { objects[id] as? HwptObject }
    func pagingHwpt(_ id: UInt32) -> HwptObject? { hwpt(id).flatMap { $0.kind == .hwptPaging ? $0 : nil } }
    func device(_ id: UInt32) -> DeviceObject? { objects[id] as? DeviceObject }
    func viommu(_ id: UInt32) -> ViommuObject? { objects[id] as? ViommuObject }
    func vdevice(_ id: UInt32) -> VdeviceObject? { objects[id] as? VdeviceObject }
    func fault(_ id: UInt32) -> SimObject? { objects[id].flatMap { $0.kind == .fault ? $0 : nil } }
}

// MARK: Object life cycle

extension SimulatedKernel {
    /// A new object under the lowest free id ≥ 1 (xa_alloc semantics:
    /// destroyed ids are reused, tombstones are not).
    func newObject<T: SimObject>(_ ctx: IommufdContext, _ make: (UInt32) -> T) -> T {
        let id = freeId(ctx)
        let o = make(id)
        ctx.objects[id] = o
        return o
    }

    /// The lowest free id past `after` (neither alive nor a tombstone): the one a new object gets.
    func freeId(_ ctx: IommufdContext, after: UInt32 = 0) -> UInt32 {
        var id = after + 1
        while ctx.objects[id] != nil || (!ctx.tombstones.isEmpty && ctx.tombstones.contains(id)) { id += 1 }
        return id
    }

    func hold(_ holder: SimObject, _ target: SimObject) {
        target.users += 1
        holder.holds.append(target.id)
    }

    /// What an attach or replace to `pt` attaches to (iommufd_device_change_pt): a HWPT itself,
    /// or for an IOAS its auto domain, made on first use; nil for another object (EINVAL).
    func attachTarget(_ ctx: IommufdContext, _ pt: SimObject, dirtyCapable: Bool) -> HwptObject? {
        if let h = pt as? HwptObject { return h }
        guard pt.kind == .ioas else { return nil }
        if let h = ctx.objects.values.first(where: { ($0 as? HwptObject)?.isAutoDomain(of: pt.id) == true }) {
            return h as? HwptObject
        }
        let hwpt = newObject(ctx) { HwptObject(id: $0, nested: false, ioasId: pt.id) }
        hwpt.auto = true
        hwpt.dirtyCapable = dirtyCapable
        hold(hwpt, pt)
        return hwpt
    }

    func attach(_ ctx: IommufdContext, _ dev: DeviceObject, _ hwpt: HwptObject) {
        detach(ctx, dev)
        dev.attachedHwpt = hwpt.id
        hwpt.users += 1
        hwpt.attachCount += 1
    }

    func detach(_ ctx: IommufdContext, _ dev: DeviceObject) {
        guard dev.attachedHwpt != 0, let h = ctx.hwpt(dev.attachedHwpt) else { dev.attachedHwpt = 0; return }
        dev.attachedHwpt = 0
        h.users -= 1
        h.attachCount -= 1
        // Auto-created domains go away with their last device.
        if h.auto && h.attachCount == 0 && h.users == 0 { remove(ctx, h) }
    }

    /// Tear one object down (no users check), releasing what it holds.
    func remove(_ ctx: IommufdContext, _ o: SimObject, tombstone: Bool = false) {
        guard ctx.objects[o.id] === o else { return }
        switch o {
        case let v as VdeviceObject:
            if let d = ctx.device(v.deviceId) {
                if let p = d.pci, p.boundVdevice === v { tsmUnbind(p) }
                d.vdeviceId = 0
            }
            ctx.viommu(v.viommuId)?.virtIds[v.virtId] = nil
        case let d as DeviceObject:
            detach(ctx, d)
            if d.vdeviceId != 0, let v = ctx.objects[d.vdeviceId] { remove(ctx, v, tombstone: true) }
            if let f = d.vfio, f.devId == d.id { f.devId = 0 }
        case let q as VeventqObject:
            ctx.viommu(q.viommuId)?.veventqTypes.remove(q.type)
        case let q as HwQueueObject:
            ctx.viommu(q.viommuId)?.hwQueues.remove(q.index)
            if let access = ctx.objects[q.accessId], access.kind == .access {
                access.users -= 1
                q.holds.removeAll { $0 == access.id }
                remove(ctx, access)
            }
        case is ViommuObject:
            ctx.mmaps.removeAll { $0.owner == o.id }
        default:
            // The selftest object owns its mock device.
            if o.kind == .selftest {
                for h in o.holds { if let d = ctx.device(h) { d.users -= 1; remove(ctx, d) } }
                o.holds.removeAll()
            }
        }
        ctx.objects[o.id] = nil
        if tombstone { ctx.tombstones.insert(o.id) }
        for h in o.holds {
            guard let t = ctx.objects[h] else { continue }
            t.users -= 1
        }
        o.holds.removeAll()
    }

    func destroyAll(_ ctx: IommufdContext) {
        for case let v as VdeviceObject in ctx.objects.values {
            if let p = ctx.device(v.deviceId)?.pci, p.boundVdevice === v { tsmUnbind(p) }
        }
        for case let d as DeviceObject in ctx.objects.values { d.vfio?.devId = 0 }
        ctx.objects.removeAll()
        ctx.tombstones.removeAll()
        ctx.closed = true
    }

    /// Drop a vfio file's iommufd device (vfio unbind / close).
    func unbindVfio(_ v: VfioFile) {
        if let ctx = v.ctx, v.devId != 0, let d = ctx.objects[v.devId] {
            d.users -= 1  // the driver's own reference
            remove(ctx, d)
        }
        v.devId = 0
        v.ctx = nil
    }
}
