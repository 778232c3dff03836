/// The on-disk layouts the loader understands; `DatasetLoader.detectFormat(at:)` tells them apart.
public enum DatasetFormat: String, Codable, Sendable, CaseIterable {
    /// A directory with `HAM10000_metadata.csv` (`lesion_id,image_id,dx,...`) and the JPEGs anywhere below it.
    case ham10000
    /// ISBI 2016 Part 3 ground truth: headerless `ISIC_id,benign|malignant` or `ISIC_id,0|1` (1 = malignant).
    case isic2016
    /// ISIC 2017 / 2018 ground truth: an image column plus one-hot class columns.
    case isicOneHot
    /// An ISIC archive metadata export: `isic_id` with `diagnosis` / `diagnosis_1..3` and/or `benign_malignant`.
    case isicArchive
    /// Any CSV with an image-path column and a label column (optionally split, group and patient columns).
    case csvManifest
    /// A directory of class folders (optionally below `train/`, `val/`, `test/` folders).
    case folderPerClass
}
