import Foundation

/// One `IOCTL_OP(IOMMU_X, handler, struct iommu_x, last_member),` entry of
/// iommufd's dispatch table. The kernel rejects a command shorter than
/// offsetofend(struct, last), so this names a new ioctl's minimum size.
package struct IoctlOpEntry: Sendable, Equatable, CustomStringConvertible {
    package let ioctl: String
    package let handler: String
    package let structName: String
    package let last: String

    package init(ioctl: String, handler: String, structName: String, last: String) {
        self.ioctl = ioctl; self.handler = handler; self.structName = structName; self.last = last
    }

    package var description: String { "\(ioctl): struct \(structName) up to \(last)" }
}

package enum IoctlOps {
    package static let dispatchFile = "drivers/iommu/iommufd/main.c"

    /// Entries added by the series to iommufd's dispatch table, in series order.
    package static func added(in series: PatchSeries) -> [IoctlOpEntry] {
        var out: [IoctlOpEntry] = []
        for message in series.patches {
            for file in message.files where file.path == dispatchFile || file.path.hasSuffix("/" + dispatchFile) {
                for hunk in file.hunks {
                    // An entry may wrap, so scan each run of consecutive added lines as one text.
                    var run: [String] = []
                    for line in hunk.lines + [HunkLine(.context, "")] {
                        if line.kind == .add { run.append(line.text); continue }
                        if !run.isEmpty { out += entries(in: run.joined(separator: " ")); run = [] }
                    }
                }
            }
        }
        return out
    }

    /// Every well-formed `IOCTL_OP(A, b, struct c, d)` in `text`; the macro's
    /// own definition (`_struct`, no `struct` keyword) does not qualify.
    package static func entries(in text: String) -> [IoctlOpEntry] {
        var out: [IoctlOpEntry] = []
        var rest = Substring(text)
        while let r = rest.range(of: "IOCTL_OP") {
            rest = rest[r.upperBound...]
            let afterName = rest.drop(while: { $0 == " " || $0 == "\t" })
            guard afterName.first == "(", let close = afterName.firstIndex(of: ")") else { continue }
            let args = afterName[afterName.index(after: afterName.startIndex)..<close]
                .split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard args.count == 4 else { continue }
            let structWords = args[2].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard structWords.count == 2, structWords[0] == "struct" else { continue }
            let fields = [args[0], args[1], String(structWords[1]), args[3]]
            guard fields.allSatisfy(isIdentifier) else { continue }
            out.append(IoctlOpEntry(ioctl: fields[0], handler: fields[1], structName: fields[2], last: fields[3]))
            rest = afterName[close...]
        }
        return out
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.first, f == "_" || (f.isASCII && f.isLetter) else { return false }
        return s.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
