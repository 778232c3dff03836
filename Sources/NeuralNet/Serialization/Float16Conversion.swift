/// Widening conversions from the 16-bit float formats safetensors uses.
///
/// Written with bit operations rather than Swift's `Float16`, which is missing on
/// Intel Macs. Both widenings are exact: every binary16 and bfloat16 value,
/// subnormals, infinities and NaN payloads included, has a binary32 twin.

/// Converts IEEE 754 binary16 bits to the Float with the same value.
public func floatFromFloat16Bits(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x03FF)
    switch exponent {
    case 0:
        // Zero or subnormal: mantissa × 2^-24, exact because both factors fit in a Float.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 0x1F:
        // Infinity or NaN; the NaN payload moves to the top of the binary32 mantissa.
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    default:
        // Normal: rebias the exponent from 15 to 127.
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
}

/// Converts bfloat16 bits to Float: bfloat16 is the top half of a binary32.
public func floatFromBFloat16Bits(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}
