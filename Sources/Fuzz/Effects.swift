import Cases

/// What a call both backends ran alike did to the objects, areas and
/// descriptors the generator tracks. Read from the bytes sent (`sent`, the
/// symbols resolved) and the struct the kernel left (`back`).
struct Effects {
    let vocabulary: Vocabulary
    var c: Constants { vocabulary.consts }

    func apply(_ call: FuzzCall, sent: [UInt8], back: [UInt8], to s: inout FuzzState) {
        let op = vocabulary.ops[call.op]
        func v(_ field: Int?, _ from: [UInt8]) -> UInt64 {
            guard let field else { return 0 }
            let f = op.fields[field]
            return CompiledCall.load(from, at: f.offset, width: f.width)
        }
        switch vocabulary.roles[call.op] {
        case .destroy(let id): s.remove(UInt32(truncatingIfNeeded: v(id, sent)))
        case .map(let ioas, let iova, let length, _, _):
            s.areas.append(Area(ioas: UInt32(truncatingIfNeeded: v(ioas, sent)), iova: v(iova, back),
                                length: v(length, sent), symbol: .output(call: call.serial, field: iova,
                                                                         literal: v(iova, back))))
        case .copy(_, let dst, _, let dstIova, let length):
            s.areas.append(Area(ioas: UInt32(truncatingIfNeeded: v(dst, sent)), iova: v(dstIova, back),
                                length: v(length, sent), symbol: .output(call: call.serial, field: dstIova,
                                                                         literal: v(dstIova, back))))
        case .unmap(let ioas, let iova, let length):
            let id = UInt32(truncatingIfNeeded: v(ioas, sent)), start = v(iova, sent), n = v(length, sent)
            s.areas.removeAll { $0.ioas == id && $0.iova >= start && $0.iova - start < n }
        case .vdeviceAlloc(_, _, let virt): s.virtIds.append(v(virt, sent))
        case .vfioBind: s.vfioBound = true
        case .testCommand(let opField, _, _):
            let which = v(opField, sent)
            guard which == c["IOMMU_TEST_OP_MOCK_DOMAIN"] || which == c["IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS"] else {
                return
            }
        default: break
        }
        outputs(call, op, sent: sent, back: back, &s)
    }

    /// New object ids and descriptors in the `out_*` fields.
    func outputs(_ call: FuzzCall, _ op: FuzzOp, sent: [UInt8], back: [UInt8], _ s: inout FuzzState) {
        for (i, f) in op.fields.enumerated() {
            let value = CompiledCall.load(back, at: f.offset, width: f.width)
            switch f.kind {
            case .outputId where value != 0:
                guard let kind = kind(created: f.name, op, sent: sent, s) else { continue }
                let parent = nestParent(op, sent: sent) && kind == .hwptPaging && !op.isTestCommand
                s.add(UInt32(truncatingIfNeeded: value), kind, .output(call: call.serial, field: i, literal: value),
                      nestParent: parent)
            case .outputFd: s.fds.append(.fd(call: call.serial, field: i))
            default: continue
            }
        }
    }

    /// The kind of the object an `out_*` id names; a HWPT's follows its parent.
    func kind(created name: String, _ op: FuzzOp, sent: [UInt8], _ s: FuzzState) -> ObjectKind? {
        guard name == "out_hwpt_id" else { return ObjectKind.created(byField: name) }
        if op.isTestCommand { return .hwptPaging }
        guard let pt = op.field("pt_id") else { return nil }
        let f = op.fields[pt]
        let parent = UInt32(truncatingIfNeeded: CompiledCall.load(sent, at: f.offset, width: f.width))
        switch s.kind(of: parent) {
        case .ioas?: return .hwptPaging
        case .hwptPaging?, .viommu?: return .hwptNested
        default: return nil
        }
    }

    func nestParent(_ op: FuzzOp, sent: [UInt8]) -> Bool {
        guard let fl = op.field("flags"), c.has("IOMMU_HWPT_ALLOC_NEST_PARENT") else { return false }
        let f = op.fields[fl]
        return CompiledCall.load(sent, at: f.offset, width: f.width) & c["IOMMU_HWPT_ALLOC_NEST_PARENT"] != 0
    }
}
