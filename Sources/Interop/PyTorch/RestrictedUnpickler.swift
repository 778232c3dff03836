/// A pickle reader that runs no code: a stack machine over the opcodes a state dict is
/// written with (protocols 2 to 5), whose only callables are the `TorchGlobal`s. Every other
/// opcode and global is refused by name, and every size (strings, memo, stack, nesting) is
/// bounded before anything is allocated, so a hostile file ends in an error, not in a
/// command, a crash or an exhausted memory.
///
/// The opcodes are Python's `pickletools` ones; `persistentLoad` turns torch's persistent
/// ids (storage references) into values, differently for the zip and the legacy layout.
struct RestrictedUnpickler {
    struct Failure: Error {
        let offset: Int
        let message: String
    }

    /// Python's own recursion limit: its pickler cannot write anything nested deeper.
    static let maxNesting = 1_000
    /// Values on the stack at once; Python writes SETITEMS in batches of 1000.
    static let maxStack = 1_000_000
    static let maxMemo = 1_000_000
    /// A GLOBAL's module or name line; real ones are a few dozen bytes.
    static let maxGlobalLine = 256

    private let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    private let persistentLoad: (PickleValue) throws -> PickleValue
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Reads one pickle starting at `position`; `position` is then just past its STOP.
    init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0,
         persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.bytes = bytes
        self.position = position
        self.persistentLoad = persistentLoad
    }

    mutating func load() throws -> PickleValue {
        while true {
            let start = position
            let opcode = try byte()
            // Errors point at the opcode that failed, whatever it had read by then.
            do {
                if let value = try step(opcode) { return value }
            } catch let failure as Failure {
                throw Failure(offset: start, message: failure.message)
            } catch {
                throw Failure(offset: start, message: "\(error)")
            }
        }
    }

    // MARK: - Opcodes

    /// Runs one opcode; returns the result at STOP.
    private mutating func step(_ opcode: UInt8) throws -> PickleValue? {
        switch opcode {
        case 0x80: // PROTO
            let version = try byte()
            guard (2...5).contains(version) else { throw fail("pickle protocol \(version) (torch writes 2; 2 to 5 are read)") }
        case 0x95: // FRAME: a length hint for buffered readers
            _ = try fixed(8)
        case 0x2E: // STOP
            guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
            return stack.removeLast()
        case 0x28: // MARK
            guard marks.count < Self.maxNesting else { throw fail("nested deeper than \(Self.maxNesting) levels") }
            marks.append(stack.count)
        case 0x30: _ = try pop() // POP
        case 0x31: _ = try popMark() // POP_MARK
        case 0x32: try push(try top()) // DUP
        case 0x4E: try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try fixed(4))))) // BININT
        case 0x4B: try push(.int(Int(try byte()))) // BININT1
        case 0x4D: try push(.int(Int(try fixed(2)))) // BININT2
        case 0x8A: try push(try long(count: Int(try byte()))) // LONG1
        case 0x8B: // LONG4
            let count = Int(Int32(truncatingIfNeeded: try fixed(4)))
            guard (0...8).contains(count) else { throw fail("LONG4 of \(count) bytes (integers wider than 64 bits are refused)") }
            try push(try long(count: count))
        case 0x47: try push(.float(Double(bitPattern: UInt64(bigEndian: try fixed(8))))) // BINFLOAT
        case 0x58: try push(.string(try text(length: Int(try fixed(4))))) // BINUNICODE
        case 0x8C: try push(.string(try text(length: Int(try byte())))) // SHORT_BINUNICODE
        case 0x8D: try push(.string(try text(length: try length8()))) // BINUNICODE8
        case 0x54: try push(.string(try text(length: Int(try fixed(4))))) // BINSTRING (Python 2 str)
        case 0x55: try push(.string(try text(length: Int(try byte())))) // SHORT_BINSTRING
        case 0x42: try push(.bytes(try raw(Int(try fixed(4))))) // BINBYTES
        case 0x43: try push(.bytes(try raw(Int(try byte())))) // SHORT_BINBYTES
        case 0x8E: try push(.bytes(try raw(try length8()))) // BINBYTES8
        case 0x29: try push(.tuple([])) // EMPTY_TUPLE
        case 0x74: try push(.tuple(try popMark())) // TUPLE
        case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
            let count = Int(opcode - 0x84)
            guard stack.count - (marks.last ?? 0) >= count else { throw fail("TUPLE\(count) with too few values") }
            let items = Array(stack.suffix(count))
            stack.removeLast(count)
            try push(.tuple(items))
        case 0x5D: try push(.list(PickleList())) // EMPTY_LIST
        case 0x6C: // LIST
            let list = PickleList()
            list.items = try popMark()
            try push(.list(list))
        case 0x61: // APPEND
            let value = try pop()
            try list(try top()).items.append(value)
        case 0x65: // APPENDS
            let values = try popMark()
            try list(try top()).items += values
        case 0x7D: try push(.dict(PickleDict())) // EMPTY_DICT
        case 0x64: // DICT
            let dict = PickleDict()
            try setItems(dict, try popMark())
            try push(.dict(dict))
        case 0x73: // SETITEM
            let value = try pop(), key = try pop()
            try dict(try top()).set(key, value)
        case 0x75: // SETITEMS
            let values = try popMark()
            try setItems(try dict(try top()), values)
        case 0x63: // GLOBAL
            let module = try line(), name = try line()
            try push(.global(try global(module, name)))
        case 0x93: // STACK_GLOBAL
            let name = try pop(), module = try pop()
            guard case .string(let n) = name, case .string(let m) = module else {
                throw fail("STACK_GLOBAL needs two strings, found \(module.kind) and \(name.kind)")
            }
            try push(.global(try global(m, n)))
        case 0x52: // REDUCE
            let arguments = try pop(), callable = try pop()
            guard case .global(let global) = callable, case .tuple(let items) = arguments else {
                throw fail("REDUCE of \(callable.kind) with \(arguments.kind): only the allowed torch globals are called")
            }
            try push(try TorchObjects.call(global, items))
        case 0x62: // BUILD: an object's state. OrderedDict's is its `_metadata` (versions of modules), not needed.
            let state = try pop()
            guard case .dict = try top() else { throw fail("BUILD on \(try top().kind) (state \(state.kind))") }
        case 0x51: // BINPERSID
            try push(try persistentLoad(try pop()))
        case 0x71: try put(Int(try byte())) // BINPUT
        case 0x72: try put(Int(try fixed(4))) // LONG_BINPUT
        case 0x94: try put(memo.count) // MEMOIZE
        case 0x68: try get(Int(try byte())) // BINGET
        case 0x6A: try get(Int(try fixed(4))) // LONG_BINGET
        default:
            throw fail("opcode \(Self.describe(opcode)) is not allowed in a state dict")
        }
        return nil
    }

    private static let refusedNames: [UInt8: String] = [
        0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2",
        0x84: "EXT4", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE", 0x67: "GET",
        0x70: "PUT",
    ]

    static func describe(_ opcode: UInt8) -> String {
        let hex = "0x" + String(opcode, radix: 16, uppercase: true)
        let name = refusedNames[opcode].map { " \($0)" } ?? ""
        return (32..<127).contains(opcode) ? "\(hex) '\(Character(UnicodeScalar(opcode)))'\(name)" : hex + name
    }

    // MARK: - Stack, memo, globals

    private func fail(_ message: String) -> Failure { Failure(offset: position, message: message) }

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("more than \(Self.maxStack) values on the stack") }
        stack.append(value)
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
        return stack.removeLast()
    }

    private func top() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.last else { throw fail("stack underflow") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func put(_ index: Int) throws {
        guard memo[index] != nil || memo.count < Self.maxMemo else { throw fail("more than \(Self.maxMemo) memo entries") }
        memo[index] = try top()
    }

    private mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("memo entry \(index) was never stored") }
        try push(value)
    }

    private func list(_ value: PickleValue) throws -> PickleList {
        guard case .list(let list) = value else { throw fail("APPEND to \(value.kind), not a list") }
        return list
    }

    private func dict(_ value: PickleValue) throws -> PickleDict {
        guard case .dict(let dict) = value else { throw fail("SETITEM on \(value.kind), not a dict") }
        return dict
    }

    private func setItems(_ dict: PickleDict, _ values: [PickleValue]) throws {
        guard values.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values") }
        for index in stride(from: 0, to: values.count, by: 2) { dict.set(values[index], values[index + 1]) }
    }

    private func global(_ module: String, _ name: String) throws -> TorchGlobal {
        guard let global = TorchGlobal(rawValue: "\(module).\(name)") else {
            throw fail("refused global \(module).\(name): a state dict needs only "
                       + TorchGlobal.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return global
    }

    // MARK: - Bytes

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("truncated: the pickle ends before its STOP") }
        defer { position += 1 }
        return bytes[position]
    }

    /// A little-endian unsigned integer of `count` bytes.
    private mutating func fixed(_ count: Int) throws -> UInt64 {
        guard count <= bytes.count - position else { throw fail("truncated: the pickle ends before its STOP") }
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[position + index]) << (8 * index) }
        position += count
        return value
    }

    private mutating func length8() throws -> Int {
        let length = try fixed(8)
        guard length <= UInt64(Int.max) else { throw fail("a length of \(length) bytes") }
        return Int(length)
    }

    /// `count` bytes, checked against what is left of the file before anything is allocated.
    private mutating func raw(_ count: Int) throws -> [UInt8] {
        guard count <= bytes.count - position else {
            throw fail("a string of \(count) bytes runs past the end (\(bytes.count - position) bytes left)")
        }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    private mutating func text(length: Int) throws -> String {
        let raw = try raw(length)
        guard let text = String(validating: raw, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return text
    }

    /// A newline-terminated GLOBAL line, at most `maxGlobalLine` bytes.
    private mutating func line() throws -> String {
        let end = min(bytes.count, position + Self.maxGlobalLine + 1)
        guard let newline = (position..<end).first(where: { bytes[$0] == 0x0A }) else {
            throw fail(end == bytes.count ? "truncated: the pickle ends inside a GLOBAL"
                                          : "a GLOBAL name longer than \(Self.maxGlobalLine) bytes")
        }
        let raw = Array(bytes[position..<newline])
        position = newline + 1
        guard let text = String(validating: raw, as: UTF8.self) else { throw fail("a GLOBAL name that is not UTF-8") }
        return text
    }

    /// LONG1/LONG4's little-endian two's complement; wider than 64 bits stays bytes.
    private mutating func long(count: Int) throws -> PickleValue {
        let raw = try raw(count)
        guard count <= 8 else { return .wideInt(raw) }
        guard let last = raw.last else { return .int(0) }
        var value: UInt64 = last & 0x80 != 0 ? ~0 : 0
        for (index, byte) in raw.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * index))
            value |= UInt64(byte) << (8 * index)
        }
        return .int(Int(Int64(bitPattern: value)))
    }
}
