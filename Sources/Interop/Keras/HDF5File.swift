import CHDF5
import Foundation

/// What went wrong reading a Keras file, with the file and the place inside it (a layer, a
/// weight, an HDF5 path), because a user converting a model needs to know which part did not fit.
public typealias KerasImportError = WeightFileError

/// A read-only HDF5 file, opened from disk or from bytes in memory (the `model.weights.h5`
/// inside a `.keras` zip). Only what Keras weight files use is wrapped: groups, string
/// attributes and floating-point datasets.
final class HDF5File {
    let name: String
    private let id: hid_t

    /// Opens `url`; a file that is not HDF5 is an error that says so.
    init(contentsOf url: URL) throws {
        chdf5_silence_errors()
        name = url.lastPathComponent
        guard FileManager.default.fileExists(atPath: url.path) else { throw KerasImportError(file: name, "no such file") }
        guard H5Fis_hdf5(url.path) > 0 else {
            throw KerasImportError(file: name, "not an HDF5 file (Keras .h5 / .weights.h5 files are HDF5)")
        }
        id = H5Fopen(url.path, chdf5_read_only(), chdf5_default())
        guard id >= 0 else { throw KerasImportError(file: name, "HDF5 could not open the file") }
    }

    /// Opens an HDF5 image held in memory; HDF5 copies the bytes.
    init(bytes: Data, name: String) throws {
        chdf5_silence_errors()
        self.name = name
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.starts(with: signature) else { throw KerasImportError(file: name, "not an HDF5 file") }
        var copy = bytes
        id = copy.withUnsafeMutableBytes { H5LTopen_file_image($0.baseAddress, $0.count, 0) }
        guard id >= 0 else { throw KerasImportError(file: name, "HDF5 could not open the image") }
    }

    deinit { H5Fclose(id) }

    var root: HDF5Group { HDF5Group(file: self, path: "/") }

    fileprivate var fileID: hid_t { id }
}

/// A group of an open HDF5 file, addressed by its absolute path.
struct HDF5Group {
    let file: HDF5File
    let path: String

    private func child(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    private func error(_ message: String) -> KerasImportError { KerasImportError(file: file.name, "\(path): \(message)") }

    /// Link names in HDF5's name order.
    func childNames() throws -> [String] {
        let group = H5Gopen2(file.fileID, path, chdf5_default())
        guard group >= 0 else { throw error("not a group") }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw error("unreadable group") }
        return try (0..<info.nlinks).map { index in
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, chdf5_default())
            guard length >= 0 else { throw error("unreadable link \(index)") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, chdf5_default())
            return String(cString: buffer)
        }
    }

    func contains(_ name: String) -> Bool { H5Lexists(file.fileID, child(name), chdf5_default()) > 0 }

    func isGroup(_ name: String) -> Bool {
        guard contains(name) else { return false }
        let object = H5Oopen(file.fileID, child(name), chdf5_default())
        guard object >= 0 else { return false }
        defer { H5Oclose(object) }
        return H5Iget_type(object) == H5I_GROUP
    }

    func group(_ name: String) throws -> HDF5Group {
        guard isGroup(name) else { throw error("no group '\(name)'") }
        return HDF5Group(file: file, path: child(name))
    }

    func hasAttribute(_ name: String) -> Bool { H5Aexists_by_name(file.fileID, path, name, chdf5_default()) > 0 }

    /// A string or string-array attribute, fixed-length (Keras 2, h5py `S` arrays) or
    /// variable-length (h5py `str`). h5py splits long arrays over `name0`, `name1`, … (the
    /// 64 KiB attribute limit); those are joined.
    func strings(_ name: String) throws -> [String] {
        if hasAttribute(name) { return try readStrings(name) }
        var parts: [String] = [], index = 0
        while hasAttribute("\(name)\(index)") {
            parts += try readStrings("\(name)\(index)")
            index += 1
        }
        guard index > 0 else { throw error("no attribute '\(name)'") }
        return parts
    }

    private func readStrings(_ name: String) throws -> [String] {
        let attribute = H5Aopen_by_name(file.fileID, path, name, chdf5_default(), chdf5_default())
        guard attribute >= 0 else { throw error("unreadable attribute '\(name)'") }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute), space = H5Aget_space(attribute)
        defer { H5Tclose(type); H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        guard count >= 0 else { throw error("attribute '\(name)' has no extent") }
        if count == 0 { return [] }
        guard H5Tget_class(type) == H5T_STRING else {
            // h5py writes an empty list as a float array: no names.
            throw error("attribute '\(name)' is not a string")
        }
        let memory = H5Tcopy(chdf5_c_string())
        defer { H5Tclose(memory) }
        H5Tset_cset(memory, H5Tget_cset(type))  // HDF5 converts no character sets (h5py `str` is UTF-8)
        if H5Tis_variable_str(type) > 0 {
            H5Tset_size(memory, chdf5_variable_size())
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attribute, memory, &pointers) >= 0 else { throw error("unreadable attribute '\(name)'") }
            defer { pointers.forEach { H5free_memory($0) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        // One byte more than stored: C strings (NULTERM) keep a terminator, and h5py's
        // fixed-length strings (NULLPAD) may use every stored byte.
        let size = H5Tget_size(type) + 1
        H5Tset_size(memory, size)
        var buffer = [UInt8](repeating: 0, count: count * size)
        guard H5Aread(attribute, memory, &buffer) >= 0 else { throw error("unreadable attribute '\(name)'") }
        return (0..<count).map { index in
            let bytes = buffer[(index * size)..<((index + 1) * size)].prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A numeric dataset as float32, with its shape: floating point (float16/32/64), or
    /// integer (a Normalization layer's int64 `count`), converted by HDF5.
    func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let dataset = H5Dopen2(file.fileID, child(name), chdf5_default())
        guard dataset >= 0 else { throw error("no dataset '\(name)'") }
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset), space = H5Dget_space(dataset)
        defer { H5Tclose(type); H5Sclose(space) }
        guard [H5T_FLOAT, H5T_INTEGER].contains(H5Tget_class(type)) else { throw error("dataset '\(name)' is not numeric") }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0, rank <= 8 else { throw error("dataset '\(name)' has rank \(rank)") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let shape = dims.prefix(rank).map { Int($0) }
        let count = shape.reduce(1, *)
        guard count <= 1 << 31 else { throw error("dataset '\(name)' is too large (\(shape))") }
        var values = [Float](repeating: 0, count: count)
        guard H5Dread(dataset, chdf5_native_float(), chdf5_all(), chdf5_all(), chdf5_default(), &values) >= 0 else {
            throw error("unreadable dataset '\(name)'")
        }
        return (shape, values)
    }
}
