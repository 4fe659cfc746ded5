import Cases
import Fuzz
import SimulatedBackend
import Testing

@Suite struct EngineTests {
    func bytes(_ s: FuzzSequence) -> [[UInt8]] { s.calls.map { $0.bytes + [$0.null ? 1 : 0, UInt8($0.op)] } }

    /// A seed gives the same calls on a fresh simulator; another seed gives others.
    @Test func sequencesFollowTheSeed() {
        let a = SimPair(reference: false), b = SimPair(reference: false)
        for i in 0..<20 {
            #expect(bytes(a.engine.generated(seed: 7, index: i)) == bytes(b.engine.generated(seed: 7, index: i)))
        }
        let same = (0..<20).filter {
            bytes(a.engine.generated(seed: 7, index: $0)) == bytes(b.engine.generated(seed: 8, index: $0))
        }
        #expect(same.isEmpty, "seeds 7 and 8 made the same sequences \(same)")
    }

    /// `--backend sim`: a simulator that frees what others hold breaks its
    /// own bookkeeping, and the fuzzer says so; the unmutated one does not.
    @Test func simulatorAloneReportsBrokenInvariants() {
        let broken = SimPair("linux-7.2", mutations: [.destroyIgnoresUsers], vfio: false, reference: false)
        let (found, _) = broken.findings(seed: 1, calls: 20_000)
        let f = try? #require(found.first)
        #expect(f?.disagreement.kind == .invariant, "\(String(describing: f?.disagreement))")
        let sound = SimPair("linux-7.2", vfio: false, reference: false)
        let (none, stats) = sound.findings(seed: 1, calls: 10_000)
        #expect(none.isEmpty, "\(none.map(\.disagreement))")
        #expect(stats.probes > 0)
    }

    /// Minimised: a tail the mutant ignores needs no earlier call and no other non-zero field.
    @Test func minimisedToTheCallThatMatters() throws {
        let pair = SimPair("linux-7.2", mutations: [.skipTailCheck], vfio: false)
        let (found, _) = pair.findings(seed: 1, calls: 20_000)
        let f = try #require(found.first)
        #expect(f.calls.count == 1 && f.originalLength > 1)
        guard case .object(let members) = f.caseJSON else { Issue.record("not an object"); return }
        #expect(members.contains { $0.key == "tail" })
        #expect(!members.contains { $0.key == "before" })
        if case .object(let fields)? = members.first(where: { $0.key == "fields" })?.value {
            #expect(fields.count <= 1, "\(fields)")
        }
    }

    /// `Explained.fileCycle`: MAP_FILE is generated, with many descriptors, but never one that holds the
    /// iommufd (a context mapping its own file leaks when closed).
    @Test func mapFileNeverMapsTheIommufd() throws {
        let pair = SimPair(reference: false)
        let ops = pair.engine.vocabulary.ops
        let mapFile = try #require(ops.firstIndex { $0.name == "IOMMU_IOAS_MAP_FILE" })
        let fd = try #require(ops[mapFile].field("fd"))
        let calls = (0..<400).flatMap { pair.engine.generated(seed: 3, index: $0).calls }.filter { $0.op == mapFile }
        #expect(calls.count > 20)
        let holding = calls.filter { c in
            switch c.patch(for: fd) {
            case .iommufd?, .fd?: return true
            default: return false
            }
        }
        #expect(holding.count == 0, "\(holding.count) of \(calls.count) MAP_FILE calls map the iommufd")
    }

    /// A HW queue's outcome that depends on the kernel's memory (`guest-memory`) or page allocator
    /// (`physical-contiguity`) ends judging; the same ENOMEM on both sides, or another call, does not.
    @Test func machineDependentQueueOutcomesEndJudging() throws {
        let ops = SimPair(reference: false).engine.vocabulary.ops
        let queue = try #require(ops.first { $0.name == "IOMMU_HW_QUEUE_ALLOC" })
        let other = try #require(ops.first { $0.name == "IOMMU_IOAS_ALLOC" })
        #expect(Explained.endsJudging(queue, .fail(.ENOMEM), .fail(.ENOENT)))
        #expect(Explained.endsJudging(queue, .fail(.ENOMEM), .ok()))
        #expect(Explained.endsJudging(queue, .fail(.EFAULT), .ok()))
        #expect(!Explained.endsJudging(queue, .fail(.ENOMEM), .fail(.ENOMEM)))
        #expect(!Explained.endsJudging(queue, .fail(.EFAULT), .fail(.EINVAL)))
        #expect(!Explained.endsJudging(queue, .ok(), .fail(.ENOMEM)))
        #expect(!Explained.endsJudging(other, .fail(.ENOMEM), .ok()))
    }
}

