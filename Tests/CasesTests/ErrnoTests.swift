import Testing
import Cases

@Suite struct ErrnoSpelling {
    @Test func everyKnownErrnoRoundTripsByName() {
        for (e, name) in Errno.known {
            #expect(e.name == name)
            #expect(Errno(name: name) == e)
            #expect(Outcome(name) == .errno(e))
            #expect(Outcome.errno(e).description == name)
        }
        #expect(Set(Errno.known.values).count == Errno.known.count, "two errnos share a spelling")
    }

    @Test func spellingsMatchLinux() {
        let linux: [(Errno, Int32, String)] = [
            (.ENOENT, 2, "ENOENT"), (.E2BIG, 7, "E2BIG"), (.EFAULT, 14, "EFAULT"), (.EINVAL, 22, "EINVAL"),
            (.ENOTTY, 25, "ENOTTY"), (.EOVERFLOW, 75, "EOVERFLOW"), (.EOPNOTSUPP, 95, "EOPNOTSUPP"),
        ]
        for (e, n, s) in linux {
            #expect(e.rawValue == n)
            #expect(e.name == s)
        }
    }

    @Test func unknownValuesSpellAsNumbers() {
        #expect(Errno(rawValue: 123).name == "errno 123")
        #expect(SyscallResult.fail(Errno(rawValue: 123)).description == "errno 123")
        #expect(Errno(name: "EWHAT") == nil)
        #expect(Outcome("errno 123") == nil)
    }
}
