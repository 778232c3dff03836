import Foundation

/// A 2-D affine map p ↦ (a·x + b·y + tx, c·x + d·y + ty), in Double so that composing several
/// steps keeps the identity exact enough for the flips to be exact pixel permutations.
struct AffineMap: Equatable {
    var a, b, c, d, tx, ty: Double

    static func translation(_ x: Double, _ y: Double) -> AffineMap {
        AffineMap(a: 1, b: 0, c: 0, d: 1, tx: x, ty: y)
    }

    static func scaling(_ sx: Double, _ sy: Double) -> AffineMap {
        AffineMap(a: sx, b: 0, c: 0, d: sy, tx: 0, ty: 0)
    }

    static func rotation(radians: Double) -> AffineMap {
        let (c, s) = (cos(radians), sin(radians))
        return AffineMap(a: c, b: -s, c: s, d: c, tx: 0, ty: 0)
    }

    /// Mirrors x (`flipX`), y (`flipY`) and swaps the axes (`swap`) in that order, the building
    /// blocks of the dihedral group about the origin.
    static func dihedral(flipX: Bool, flipY: Bool, swap: Bool) -> AffineMap {
        let sx: Double = flipX ? -1 : 1, sy: Double = flipY ? -1 : 1
        return swap ? AffineMap(a: 0, b: sy, c: sx, d: 0, tx: 0, ty: 0)
                    : AffineMap(a: sx, b: 0, c: 0, d: sy, tx: 0, ty: 0)
    }

    /// `next` applied after `self`.
    func then(_ next: AffineMap) -> AffineMap {
        AffineMap(a: next.a * a + next.b * c, b: next.a * b + next.b * d,
                  c: next.c * a + next.d * c, d: next.c * b + next.d * d,
                  tx: next.a * tx + next.b * ty + next.tx, ty: next.c * tx + next.d * ty + next.ty)
    }
}
