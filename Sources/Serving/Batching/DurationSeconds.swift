extension Duration {
    /// The duration as floating-point seconds, for rates, `Date` deadlines and JSON timings.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
