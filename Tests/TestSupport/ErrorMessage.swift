/// The message of the error `body` throws, or "no error".
public func message(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return String(describing: error)
    }
}
