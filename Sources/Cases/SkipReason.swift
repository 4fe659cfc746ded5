import Layout

extension CaseRunner {
    /// Why `c` cannot run on this profile and backend, or nil.
    package func skipReason(_ c: ConformanceCase) -> String? {
        if c.call.fileIO == nil && profile.ioctl(c.ioctl) == nil {
            return "ioctl \(c.ioctl) not in profile \(profile.name)"
        }
        if let ps = c.requirements.profiles, !ps.contains(profile.name) {
            return "applies to profile \(ps.sorted().joined(separator: ", ")), not \(profile.name)"
        }
        if !probe.absentIoctls.isEmpty {
            let setupIoctls = SetupStep.chain(c.setup).flatMap { $0.ioctls(profile: profile) }
            let used = [c.ioctl] + c.before.map(\.ioctl) + setupIoctls
            if let missing = used.first(where: probe.absentIoctls.contains) {
                return "ENOTTY: \(missing) not in this kernel"
            }
        }
        if c.requirements.mockDevice && !probe.mockDevice {
            return probe.mockUnusable ?? "needs CONFIG_IOMMUFD_TEST (IOMMU_TEST_CMD)"
        }
        if c.requirements.pciDevice && !probe.pciDevice {
            return "needs a PCI device bound to vfio-pci (vfio0) and --allow-destructive"
        }
        if c.requirements.tsmDevice && !probe.tsmDevice { return "needs a TSM-capable PCI device" }
        for cap in c.requirements.capabilities.sorted() where !probe.capabilities.contains(cap) {
            return "needs \(cap)"
        }
        for b in c.before where b.fileIO == nil && profile.ioctl(b.ioctl) == nil {
            return "ioctl \(b.ioctl) not in profile \(profile.name)"
        }
        return nil
    }
}
