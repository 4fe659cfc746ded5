/// A whole address space as a kernel sees a user's: copies that fail (EFAULT) on an unmapped address instead
/// of faulting. sim-exec's preload gives its own process's (CShims/preload).
package protocol AddressSpace: AnyObject {
    /// Whether every page of [addr, addr+count) is mapped.
    func mapped(_ addr: UInt64, _ count: UInt64) -> Bool
    /// The readable prefix of [addr, addr+count): a copy stops at the first unmapped page.
    func readPrefix(_ addr: UInt64, _ count: Int) -> [UInt8]
    /// Copy `data` to `addr`; false where it is not writable.
    func write(_ addr: UInt64, _ data: [UInt8]) -> Bool
}

extension AddressSpace {
    func read(_ addr: UInt64, _ count: Int) -> [UInt8]? {
        if count == 0 { return addr == 0 ? nil : [] }
        let p = readPrefix(addr, count)
        return p.count == count ? p : nil
    }
}
