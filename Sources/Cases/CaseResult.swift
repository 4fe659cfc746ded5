/// One case's verdict on one backend, as every reporter consumes it.
package enum CaseStatus: String, Codable, Sendable { case pass = "PASS", fail = "FAIL", skip = "SKIP" }

package struct CaseResult: Codable, Sendable, Equatable {
    package var id: String
    package var status: CaseStatus
    /// What came back: "OK", "OK(3)" or an errno name; nil when skipped.
    package var got: String?
    /// What the contract says for this profile: "OK" or an errno name.
    package var expected: String
    /// Why it failed or was skipped; empty on a pass.
    package var reason: String

    package init(id: String, status: CaseStatus, got: String?, expected: String, reason: String) {
        self.id = id; self.status = status; self.got = got; self.expected = expected; self.reason = reason
    }
}
