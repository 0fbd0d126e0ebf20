import Foundation
import FuzzInput
import Loom
import LoomKeras
import ZIPFoundation

// A `.keras` archive (zip of config.json, metadata.json and model.weights.h5): the zip
// directory, entry sizes and the config. Raw byte mutants of the HDF5 inside hang or crash
// libhdf5 itself (a damaged global heap loops in H5HG_read), which Loom cannot patch, so
// the weights reach libhdf5 only when they are byte for byte a seed's: an archive whose
// model.weights.h5 differs is loaded with a seed's weights instead. Loom's side of the
// weights files is fuzzed by fuzz-hdf5, on well-formed files.

/// The seeds (the `.keras` files of Corpus/keras-archive, found from this file's path; the
/// findings kept there have no extension) and their weights entries.
let seeds: [(url: URL, weights: Data)] = {
    let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Corpus/keras-archive")
    let files = (try? FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)) ?? []
    let seeds = files.filter { $0.pathExtension == "keras" }.sorted { $0.path < $1.path }.compactMap { url in
        weightsEntry(of: url).map { (url, $0) }
    }
    guard !seeds.isEmpty else { fatalError("no seed archive with weights in \(corpus.path)") }
    return seeds
}()

/// The inflated model.weights.h5 of the archive at `url`, or nil when it cannot be had.
func weightsEntry(of url: URL) -> Data? {
    guard let archive = try? Archive(url: url, accessMode: .read, pathEncoding: nil), let entry = archive["model.weights.h5"],
        entry.uncompressedSize < 1 << 24
    else { return nil }
    var data = Data()
    guard (try? archive.extract(entry, consumer: { data.append($0) })) != nil else { return nil }
    return data
}

FuzzInput.run { data, size in
    guard let data else { return 0 }
    let url = URL(fileURLWithPath: FuzzInput.write(data, size, as: "model.keras"))
    let weights = weightsEntry(of: url)
    let pristine = weights != nil && seeds.contains { $0.weights == weights }
    FuzzInput.expectingErrors { _ = try Sequential(kerasModel: url, weights: pristine ? nil : seeds[0].url) }
    return 0
}
