import Cases
import Layout

/// TDISP interface state of the simulated TDI behind a PCI device.
package enum TdispState: String, Sendable {
    case configUnlocked = "CONFIG_UNLOCKED"
    case configLocked = "CONFIG_LOCKED"
    case run = "RUN"
    case error = "ERROR"
}

/// One physical simulated PCI function with a TSM behind it. Shared by every
/// open of its node, as a real device is.
final class SimPciDevice {
    let path: String
    /// KVM_DEV_VFIO_FILE_ADD done by the VMM (vfio0) or not (vfio1).
    let hasKVM: Bool
    var tdi: TdispState = .configUnlocked
    /// The vdevice object the TDI is bound through; nil when unbound.
    weak var boundVdevice: VdeviceObject?
    /// PCI_COMMAND_MEMORY.
    var memoryEnabled = true
    var d3hot = false
    /// How many times the TSM bound this TDI (tests check "no automatic re-bind").
    var bindCount = 0
    /// Open vfio file, if any (one cdev open at a time is all we model).
    weak var openFile: VfioFile?

    init(path: String, hasKVM: Bool) { self.path = path; self.hasKVM = hasKVM }
    var tsmBound: Bool { boundVdevice != nil }
}

/// State of one open vfio cdev.
final class VfioFile {
    let device: SimPciDevice
    var ctx: IommufdContext?
    var devId: UInt32 = 0
    var everBound = false
    init(device: SimPciDevice) { self.device = device }
}

/// A dma-buf of `length` bytes; the selftest's own (IOMMU_TEST_OP_DMABUF_GET) can be revoked.
final class DmabufFile {
    let length: UInt64
    let selftest: Bool
    var revoked = false
    init(length: UInt64, selftest: Bool) { self.length = length; self.selftest = selftest }
}

enum OpenFile {
    case iommufd(IommufdContext)
    case vfio(VfioFile)
    /// A /dev/kvm VM fd stand-in (tsm-v2's IOMMU_VIOMMU_KVM_FD needs one).
    case kvm
    /// fault queue, veventq: anonymous inodes with their pending events.
    case eventq(EventQueue)
    /// A dma-buf exported from a BAR or by the selftest mock.
    case dmabuf(DmabufFile)
    /// The selftest's access file (IOMMU_TEST_OP_CREATE_ACCESS).
    case access(AccessObject)
}
