import CDNNL

/// A oneDNN call that failed. `call` names what we asked for, so a failure deep inside a
/// network says which layer and which primitive, not just "invalid arguments".
public struct DNNLError: Error, CustomStringConvertible {
    public let status: dnnl_status_t
    public let call: String

    public var description: String {
        "oneDNN \(call) failed: \(String(cString: dnnl_status2str(status)))"
    }
}

/// Turns a oneDNN status into a thrown `DNNLError`.
@inline(__always)
func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) throws {
    if status != dnnl_success { throw DNNLError(status: status, call: call()) }
}
