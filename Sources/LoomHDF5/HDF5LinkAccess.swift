import CHDF5

/// The access property lists an `HDF5File` opens its objects with: libhdf5's defaults when
/// the file may follow other files, else lists through which no external link is followed
/// (`H5Pset_elink_cb`), so that a soft link or a group whose path crosses an external link
/// is refused at the open, not only a direct external link (`HDF5File.checkLinks`).
/// `refusedExternal` says whether an open was refused that way; it is written by libhdf5's
/// callback under the HDF5 lock and read under it.
final class HDF5LinkAccess {
    /// For `H5Lexists`, `H5Lget_info` and `H5Oopen`.
    let link: hid_t
    /// For `H5Dopen2`.
    let dataset: hid_t
    /// For `H5Gopen2`.
    let group: hid_t
    private let refused: UnsafeMutablePointer<Int32>
    private let owned: Bool

    /// Lists that refuse external links, or the defaults when `followsOtherFiles`.
    init(followsOtherFiles: Bool) {
        refused = .allocate(capacity: 1)
        refused.initialize(to: 0)
        owned = !followsOtherFiles
        if followsOtherFiles {
            (link, dataset, group) = (loom_h5p_default(), loom_h5p_default(), loom_h5p_default())
        } else {
            link = loom_h5p_refusing_external(loom_h5p_link_access(), refused)
            dataset = loom_h5p_refusing_external(loom_h5p_dataset_access(), refused)
            group = loom_h5p_refusing_external(loom_h5p_group_access(), refused)
        }
    }

    deinit {
        if owned { HDF5Library.locked { for list in [link, dataset, group] where list >= 0 { H5Pclose(list) } } }
        refused.deallocate()
    }

    /// Whether an open since the last `reset` was refused for crossing an external link.
    var refusedExternal: Bool { refused.pointee != 0 }

    /// Forgets earlier refusals.
    func reset() { refused.pointee = 0 }
}
