/// JUnit XML as Jenkins (junit-10.xsd) and pytest consume it: `testsuites`
/// carries name, tests, failures, errors and time only; each `testsuite`
/// has the required name, tests, failures and errors (plus skipped and
/// time); times have at most three decimals. `fixtures/schemas/junit.xsd`
/// states this and the tests validate every JUnit the tool writes with it.
package enum JUnit {
    package struct TestCase {
        package var classname: String
        package var name: String
        package var failure: String?
        /// Failure detail beyond the one-line message.
        package var failureText: String?
        package var skipped: String?
        package var systemOut: String?

        package init(classname: String, name: String, failure: String? = nil, failureText: String? = nil,
                     skipped: String? = nil, systemOut: String? = nil) {
            self.classname = classname; self.name = name; self.failure = failure; self.failureText = failureText
            self.skipped = skipped; self.systemOut = systemOut
        }

        /// `a.b.c` → class `a.b`, name `c`.
        package init(id: String) {
            let dot = id.lastIndex(of: ".")
            self.init(classname: dot.map { String(id[..<$0]) } ?? id,
                      name: dot.map { String(id[id.index(after: $0)...]) } ?? id)
        }
    }

    package static func time(_ seconds: Double) -> String { String(format: "%.3f", max(seconds, 0)) }

    package static func document(name: String, suite: String, cases: [TestCase], seconds: Double) -> String {
        let failures = cases.filter { $0.failure != nil }.count, skipped = cases.filter { $0.skipped != nil }.count
        let t = time(seconds)
        var out = [#"<?xml version="1.0" encoding="UTF-8"?>"#,
                   #"<testsuites name="\#(Output.xml(name))" tests="\#(cases.count)" failures="\#(failures)""#
                       + #" errors="0" time="\#(t)">"#,
                   #"  <testsuite name="\#(Output.xml(suite))" tests="\#(cases.count)" failures="\#(failures)""#
                       + #" errors="0" skipped="\#(skipped)" time="\#(t)">"#]
        out.reserveCapacity(cases.count + 4)
        for c in cases {
            let head = #"    <testcase classname="\#(Output.xml(c.classname))" name="\#(Output.xml(c.name))""#
            var body: [String] = []
            if let s = c.skipped { body.append(#"<skipped message="\#(Output.xml(s))"/>"#) }
            if let f = c.failure {
                body.append(#"<failure message="\#(Output.xml(f))">\#(Output.xml(c.failureText ?? ""))</failure>"#)
            }
            if let o = c.systemOut { body.append("<system-out>\(Output.xml(o))</system-out>") }
            out.append(body.isEmpty ? head + "/>" : head + ">" + body.joined() + "</testcase>")
        }
        out += ["  </testsuite>", "</testsuites>"]
        return out.joined(separator: "\n")
    }
}
