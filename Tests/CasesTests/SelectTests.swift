import Testing
import Layout
import Cases

@Suite struct Selecting {
    @Test func doubleStarsGlobLikeOne() throws {
        let cases = try Catalogue.cases(for: try profile("tsm-v5"))
        let one = CaseRunner.select(cases, filter: "iommufd.*.size.zero").map(\.id)
        #expect(one.count > 20)
        #expect(CaseRunner.select(cases, filter: "iommufd.**.size.zero").map(\.id) == one)
        #expect(CaseRunner.select(cases, filter: "**").count == cases.count)
        #expect(CaseRunner.select(cases, filter: "iommufd.***size.zero").map(\.id) == one)
        #expect(CaseRunner.select(cases, filter: "*.size.zero**").count == CaseRunner.select(cases, filter: "*.size.zero*").count)
    }
}
