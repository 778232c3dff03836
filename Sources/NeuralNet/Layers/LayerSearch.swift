extension Layer {
    /// Every BatchNorm inside this layer (itself included), in order. Composite layers share no
    /// list of children, so their stored properties are searched by reflection.
    public var batchNorms: [BatchNorm] {
        if let norm = self as? BatchNorm { return [norm] }
        if let sequential = self as? Sequential { return sequential.children.flatMap(\.layer.batchNorms) }
        return Mirror(reflecting: self).children.flatMap { child -> [BatchNorm] in
            if let sublayer = child.value as? any Layer { return sublayer.batchNorms }
            if let sublayers = child.value as? [any Layer] { return sublayers.flatMap(\.batchNorms) }
            return []
        }
    }
}
