import CHDF5
import Foundation
import Loom
import LoomHDF5

/// Writes `values` as dataset `name` of the given HDF5 native type (values converted by
/// HDF5), to make fixtures of every dtype; raw C calls, since Loom itself writes float32.
func writeRaw(path: String, name: String, shape: [Int], values: [Double], type: hid_t) {
    let file =
        FileManager.default.fileExists(atPath: path)
        ? H5Fopen(path, loom_h5f_acc_rdwr(), loom_h5p_default())
        : H5Fcreate(path, loom_h5f_acc_trunc(), loom_h5p_default(), loom_h5p_default())
    let dims = shape.map { hsize_t($0) }
    let space = H5Screate_simple(Int32(shape.count), dims, nil)
    let dataset = H5Dcreate2(file, name, type, space, loom_h5p_default(), loom_h5p_default(), loom_h5p_default())
    H5Dwrite(dataset, loom_h5t_native_double(), loom_h5s_all(), loom_h5s_all(), loom_h5p_default(), values)
    H5Dclose(dataset)
    H5Sclose(space)
    H5Fclose(file)
}

/// Writes a dataset of fixed-length strings.
func writeStrings(path: String, name: String, count: Int) {
    let file = H5Fcreate(path, loom_h5f_acc_trunc(), loom_h5p_default(), loom_h5p_default())
    let type = H5Tcopy(loom_h5t_c_s1())
    H5Tset_size(type, 4)
    var dims = [hsize_t(count)]
    let space = H5Screate_simple(1, &dims, nil)
    let dataset = H5Dcreate2(file, name, type, space, loom_h5p_default(), loom_h5p_default(), loom_h5p_default())
    let bytes = [UInt8](repeating: 65, count: 4 * count)
    H5Dwrite(dataset, type, loom_h5s_all(), loom_h5s_all(), loom_h5p_default(), bytes)
    H5Dclose(dataset)
    H5Sclose(space)
    H5Tclose(type)
    H5Fclose(file)
}

/// A tensor whose value at flat index i is `i * scale + offset`, to recognise rows.
func ramp(_ shape: [Int], scale: Float = 1, offset: Float = 0) -> Tensor {
    try! Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { Float($0) * scale + offset })
}
