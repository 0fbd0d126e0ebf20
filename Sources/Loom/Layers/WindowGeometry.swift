import LoomKernels

/// The geometry of a 2-D window sliding over channels-last images `(height, width, channels)`.
struct WindowGeometry: Equatable {
    var height = 0, width = 0, channels = 0
    var windowHeight = 1, windowWidth = 1
    var strideHeight = 1, strideWidth = 1
    var outputHeight = 0, outputWidth = 0
    var padTop = 0, padLeft = 0

    init() {}

    init(input: [Int], window: (Int, Int), strides: (Int, Int), padding: Padding) {
        (height, width, channels) = (input[0], input[1], input[2])
        (windowHeight, windowWidth) = window
        (strideHeight, strideWidth) = strides
        (outputHeight, padTop) = padding.geometry(input: height, window: windowHeight, stride: strideHeight)
        (outputWidth, padLeft) = padding.geometry(input: width, window: windowWidth, stride: strideWidth)
    }

    /// The geometry as the kernels take it (`Kernels.table.convolve`).
    var kernelWindow: LoomWindowGeometry {
        LoomWindowGeometry(
            height: height, width: width, channels: channels, windowHeight: windowHeight, windowWidth: windowWidth,
            strideHeight: strideHeight, strideWidth: strideWidth, padTop: padTop, padLeft: padLeft,
            outputHeight: outputHeight, outputWidth: outputWidth)
    }

    /// The input row and column of window cell (i, j) at output (oh, ow); may lie outside.
    @inline(__always)
    func source(_ oh: Int, _ ow: Int, _ i: Int, _ j: Int) -> (row: Int, column: Int) {
        (oh * strideHeight + i - padTop, ow * strideWidth + j - padLeft)
    }

    /// Calls `body(input, cell, count)` for every run of a window that lies inside an image
    /// of `batch` images: `count` contiguous values starting at offset `input` of the images
    /// `(batch, height, width, channels)`, and at offset `cell` of the im2col rows
    /// `(batch·outH·outW, windowHeight·windowWidth·channels)`. One run is a window row
    /// clipped to the image (its cells outside it are skipped).
    @inline(__always)
    func forEachWindowRun(batch: Int, _ body: (_ input: Int, _ cell: Int, _ count: Int) -> Void) {
        forEachWindow(batch: batch) { image, oh, ow, cell in
            forEachRun(image: image, oh, ow, cell: cell, body)
        }
    }

    /// im2col: the rows `(batch·outH·outW, windowHeight·windowWidth·channels)` of `columns`
    /// from the images `x (batch, height, width, channels)`; cells outside the image are left
    /// as they are (zero them first for padding). A window inside the image is copied cell by
    /// cell through a table of the cells' offsets from its corner: run by run, a 3×3 window of
    /// one channel would be three copies of three values.
    func gatherWindows(_ x: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, batch: Int) {
        let rowLength = windowWidth * channels, patch = windowHeight * rowLength
        let offsets = (0..<patch).map { q in (q / rowLength) * width * channels + q % rowLength }
        offsets.withUnsafeBufferPointer { offsets in
            forEachWindow(batch: batch) { image, oh, ow, cell in
                let top = oh * strideHeight - padTop, left = ow * strideWidth - padLeft
                if top >= 0, left >= 0, top + windowHeight <= height, left + windowWidth <= width {
                    let corner = x + image + (top * width + left) * channels, row = columns + cell
                    for q in 0..<patch { row[q] = corner[offsets[q]] }
                } else {
                    forEachRun(image: image, oh, ow, cell: cell) { input, cell, count in
                        for k in 0..<count { columns[cell + k] = x[input + k] }
                    }
                }
            }
        }
    }

    /// Calls `body(image, oh, ow, cell)` for every output position of `batch` images: `image`
    /// the offset of its image, `cell` the offset of its im2col row.
    @inline(__always)
    private func forEachWindow(batch: Int, _ body: (_ image: Int, _ oh: Int, _ ow: Int, _ cell: Int) -> Void) {
        let patch = windowHeight * windowWidth * channels
        for b in 0..<batch {
            let image = b * height * width * channels
            for oh in 0..<outputHeight {
                for ow in 0..<outputWidth {
                    body(image, oh, ow, ((b * outputHeight + oh) * outputWidth + ow) * patch)
                }
            }
        }
    }

    /// The runs of the window at output (oh, ow), as in `forEachWindowRun`.
    @inline(__always)
    private func forEachRun(image: Int, _ oh: Int, _ ow: Int, cell: Int, _ body: (_ input: Int, _ cell: Int, _ count: Int) -> Void) {
        let rowLength = windowWidth * channels
        let (rows, columns) = inside(oh, ow)
        let (top, left) = source(oh, ow, 0, columns.lowerBound)
        for i in rows {
            body(
                image + ((top + i) * width + left) * channels, cell + i * rowLength + columns.lowerBound * channels,
                columns.count * channels)
        }
    }

    /// Writes into `offsets` the offset, in images `(batch, height, width, channels)`, of channel
    /// 0 of every cell of the window at output (oh, ow) of the image at `image` that lies
    /// inside it, row by row; returns how many (at most windowHeight·windowWidth).
    @inline(__always)
    func cellOffsets(image: Int, _ oh: Int, _ ow: Int, into offsets: UnsafeMutablePointer<Int>) -> Int {
        let (rows, columns) = inside(oh, ow)
        let (top, left) = source(oh, ow, 0, 0)
        var count = 0
        for i in rows {
            for j in columns {
                offsets[count] = image + ((top + i) * width + left + j) * channels
                count += 1
            }
        }
        return count
    }

    /// The window cells of output (oh, ow) that lie inside the input: rows `i` and columns
    /// `j` of the window, clipped once per output rather than tested per cell.
    @inline(__always)
    func inside(_ oh: Int, _ ow: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let top = oh * strideHeight - padTop, left = ow * strideWidth - padLeft
        return (max(0, -top)..<min(windowHeight, height - top), max(0, -left)..<min(windowWidth, width - left))
    }
}
