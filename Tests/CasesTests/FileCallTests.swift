import Foundation
import Testing
import Layout
import Cases
import SimulatedBackend

/// `read` / `write` calls of a case file: what they accept, what they refuse,
/// and what they do on the simulator's event queues.
@Suite struct FileCalls {
    func parse(_ json: String) throws -> [ConformanceCase] {
        try CaseFile.parse(Data(json.utf8), name: "t.json", profiles: [try profile("tsm-v5")])
    }

    func refused(_ json: String, _ want: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let msg = try #require(try fileError(json), "no error for \(json)", sourceLocation: sourceLocation)
        #expect(msg.contains(want) && !msg.contains("\n"), "\(msg)", sourceLocation: sourceLocation)
    }

    @Test func aReadNeedsADefinedDescriptorAndACount() throws {
        let ok = #"[{"id":"r","setup":["fault"],"read":"$fault_fd","count":40,"expect":"OK"}]"#
        let c = try #require(try parse(ok).first)
        #expect(c.call.fileIO == .read(fd: "fault_fd", count: 40))
        try refused(#"[{"id":"r","read":"$fault_fd","count":40,"expect":"OK"}]"#, "must name a descriptor")
        try refused(#"[{"id":"r","setup":["fault"],"read":"$fault_fd","expect":"OK"}]"#, "needs \"count\"")
        try refused(#"[{"id":"r","setup":["fault"],"read":"$fault_fd","count":-1,"expect":"OK"}]"#, "needs \"count\"")
        try refused(#"[{"id":"r","setup":["fault"],"read":"$fault_fd","count":8,"fields":{},"expect":"OK"}]"#,
                    "takes only")
        try refused(#"[{"id":"r","ioctl":"IOMMU_IOAS_ALLOC","count":8,"expect":"OK"}]"#, "belongs to a \"read\"")
        try refused(#"[{"id":"w","setup":["fault"],"write":"$fault_fd","payload":"zz","expect":"OK"}]"#, "hex")
    }

    func run(_ json: String, on name: String = "tsm-v5") throws -> [CaseResult] {
        let p = try profile(name)
        let cases = try CaseFile.parse(Data(json.utf8), name: "t.json", profiles: [p])
        return CaseRunner(backend: try SimulatedKernel(profile: p), profile: p).run(cases)
    }

    @Test func theFaultQueueReadsWholeFaultsAndTakesResponses() throws {
        // Empty: 0 bytes; a count that is no multiple of the 40-byte fault: ESPIPE.
        let empty = try run(#"[{"id":"a","setup":["fault"],"read":"$fault_fd","count":40,"expect":"OK"},"#
                            + #"{"id":"b","setup":["fault"],"read":"$fault_fd","count":48,"expect":"ESPIPE"},"#
                            + #"{"id":"c","setup":["fault"],"write":"$fault_fd","payload":"0100000000000000","#
                            + #""expect":"EINVAL"}]"#)
        for r in empty { #expect(r.status == .pass, "\(r.id): \(r.reason)") }
    }

    @Test func eventQueueCasesFailOnAWrongAnswer() throws {
        // The same read with another expectation fails: the verdict is the kernel's count.
        let r = try run(#"[{"id":"a","setup":["fault"],"read":"$fault_fd","count":40,"expect":"OK(40)"}]"#)
        #expect(r.first?.status == .fail)
    }
}
