/// Bad input to the tool (missing folder, unreadable patch, unknown profile):
/// reported as one line, exit status 2.
package struct InputError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
