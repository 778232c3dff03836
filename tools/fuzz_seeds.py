#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (scripts/fuzz-corpus calls it) from real files.

Seeds are real data or made from it, kept small (libFuzzer mutates faster, and every seed is
decoded under AddressSanitizer on every pass):

* images: DermaMNIST JPEGs as they are (28x28, real), and a HAM10000 image cut down to 64x48 and
  re-encoded by Pillow in the variants our decoder handles (progressive, 4:2:0, gray, CMYK with
  the Adobe marker, PNG RGB/RGBA/gray/gray+alpha/palette+tRNS/16-bit, EXIF orientation 1-8 in
  both byte orders in APP1 and eXIf);
* EXIF: those files' header segments up to the scan, and bare TIFF bodies;
* datasets: the first rows of the real label files in ../shared/data (HAM10000 metadata, ISBI
  2016 ground truth, ISIC 2018 one-hot, DermaMNIST's manifest), an ISIC 2017 file and an ISIC
  archive export made from those rows;
* safetensors: files holding the smallest real tensors of the EfficientNet-Lite0 ImageNet file,
  as stored (F32) and as F16, BF16 and I64, with and without __metadata__;
* uploads: raw and multipart/form-data bodies as curl and browsers send them, with those images;
* metadata specs: derived from the HAM10000 sample's age, sex and site as the spec builder does,
  with real rows' values typed as the CLI takes them;
* ensemble manifests in the README's form (the one `train --folds` writes comes from the tool);
* Keras: .keras archives and model configurations in the Keras 2 and Keras 3 layouts, written
  with tools/keras_files.py's own writers (h5py for the weights).

Split manifests and model metadata come from the skinlesion tool itself (scripts/fuzz-corpus).

Usage: fuzz_seeds.py --data ../shared/data --weights ../shared/weights --output DIR
       fuzz_seeds.py --metadata MODEL.safetensors [--spec]   (prints the model file's metadata JSON,
                                                             or the metadata spec inside it)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import keras_files  # noqa: E402

ROWS = 12  # rows kept of each real label file: every column shape, few bytes (a fast execution)


def tiff(orientation: int, big_endian: bool) -> bytes:
    """IFD0 = {Make "Cam", Orientation}, as cameras write it."""
    e = ">" if big_endian else "<"
    return ((b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 2)
            + struct.pack(e + "HHI", 0x010F, 2, 4) + b"Cam\0"
            + struct.pack(e + "HHIH", 0x0112, 3, 1, orientation) + b"\0\0" + struct.pack(e + "I", 0))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_16bit(pixels: np.ndarray) -> bytes:
    """16-bit RGB, which Pillow does not write."""
    height, width, _ = pixels.shape
    rows = (pixels.astype(">u2") * 257).reshape(height, width * 3)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def header_segments(jpeg: bytes) -> bytes:
    """A JPEG's marker segments up to and including the start-of-scan header."""
    at = 2
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF:
        length = int.from_bytes(jpeg[at + 2:at + 4], "big")
        if jpeg[at + 1] == 0xDA:
            return jpeg[:at + 2 + length]
        at += 2 + length
    return jpeg


def write(directory: Path, name: str, data: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def image_seeds(data: Path, out: Path) -> dict[str, bytes]:
    jpegs: dict[str, bytes] = {}
    derma = sorted((data / "dermamnist28/images").glob("*.jpg"))[:12]
    for path in derma:
        jpegs[f"dermamnist-{path.name}"] = path.read_bytes()
    ham = sorted((data / "ham10000-sample").glob("HAM10000_images_part_*/*.jpg"))[0]
    small = Image.open(ham).convert("RGB").resize((64, 48), Image.BILINEAR)
    variants = {"q90": dict(quality=90), "q100-444": dict(quality=100, subsampling=0),
                "420": dict(quality=75, subsampling=2), "progressive": dict(quality=85, progressive=True),
                "restart": dict(quality=85, restart_marker_blocks=1)}
    for label, options in variants.items():
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", **options)
        jpegs[f"ham-{label}.jpg"] = buffer.getvalue()
    for mode in ("L", "CMYK"):
        buffer = io.BytesIO()
        small.convert(mode).save(buffer, "JPEG", quality=85)
        jpegs[f"ham-{mode.lower()}.jpg"] = buffer.getvalue()
    for orientation in range(1, 9):
        for big_endian in (False, True):
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=80, exif=b"Exif\0\0" + tiff(orientation, big_endian))
            jpegs[f"ham-exif{orientation}{'-mm' if big_endian else ''}.jpg"] = buffer.getvalue()
    for name, blob in jpegs.items():
        write(out / "image-jpeg", name, blob)

    pngs: dict[str, bytes] = {}
    source = Image.open(derma[0]).convert("RGB")
    for mode in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
        buffer = io.BytesIO()
        image = source.convert(mode) if mode != "I;16" else source.convert("I").point(lambda v: v * 257).convert("I;16")
        options = {"transparency": 0} if mode == "P" else {}
        image.save(buffer, "PNG", **options)
        pngs[f"derma-{mode.replace(';', '')}.png"] = buffer.getvalue()
    pngs["derma-rgb16.png"] = png_16bit(np.asarray(source))
    for orientation in (3, 6, 8):
        for prefix in (b"", b"Exif\0\0"):
            buffer = io.BytesIO()
            source.save(buffer, "PNG", exif=prefix + tiff(orientation, big_endian=orientation == 8))
            pngs[f"derma-exif{orientation}{'-app1' if prefix else ''}.png"] = buffer.getvalue()
    for name, blob in pngs.items():
        write(out / "image-png", name, blob)

    for name, blob in jpegs.items():
        if "exif" in name or name.startswith("ham-q90") or name.startswith("ham-cmyk"):
            write(out / "exif-orientation", name, header_segments(blob))
    for name, blob in pngs.items():
        if "exif" in name:
            write(out / "exif-orientation", name, blob[:blob.index(b"IDAT") + 4])
    for orientation in range(1, 9):
        write(out / "exif-orientation", f"tiff{orientation}-ii", tiff(orientation, False))
        write(out / "exif-orientation", f"tiff{orientation}-mm", tiff(orientation, True))
    return {**jpegs, **pngs}


def head_lines(path: Path, rows: int = ROWS) -> bytes:
    with path.open("rb") as f:
        return b"".join(line for _, line in zip(range(rows), f))


def csv_text(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def dataset_seeds(data: Path, out: Path) -> None:
    ham = data / "ham10000-sample/HAM10000_metadata.csv"
    labels = data / "isic-labels"
    seeds = {
        "ham10000": {"ham10000-metadata.csv": head_lines(ham)},
        "isic2016": {name: head_lines(labels / name) for name in
                     ("ISBI2016_ISIC_Part3_Training_GroundTruth.csv", "ISBI2016_ISIC_Part3_Test_GroundTruth.csv")},
        "isic-onehot": {"ISIC2018_Task3_Validation_GroundTruth.csv": head_lines(labels / "ISIC2018_Task3_Validation_GroundTruth.csv")},
        "csv-manifest": {"dermamnist-labels.csv": head_lines(data / "dermamnist28/labels.csv")},
    }
    # ISIC 2017 marks melanoma and seborrheic keratosis only; made from the 2018 rows.
    onehot = list(csv.reader(io.StringIO(head_lines(labels / "ISIC2018_Task3_Validation_GroundTruth.csv").decode())))
    columns = onehot[0]
    rows2017 = [["image_id", "melanoma", "seborrheic_keratosis"]]
    rows2017 += [[row[0], row[columns.index("MEL")], row[columns.index("BKL")]] for row in onehot[1:]]
    seeds["isic-onehot"]["isic2017.csv"] = csv_text(rows2017)
    # An ISIC archive export of the HAM10000 rows (the images are ISIC archive images).
    ham_rows = list(csv.DictReader(io.StringIO(head_lines(ham).decode())))
    names = {"mel": "melanoma", "nv": "nevus", "bcc": "basal cell carcinoma", "akiec": "actinic keratosis",
             "bkl": "pigmented benign keratosis", "df": "dermatofibroma", "vasc": "vascular lesion"}
    archive = [["isic_id", "diagnosis", "benign_malignant", "lesion_id", "patient_id", "age_approx", "sex"]]
    for i, row in enumerate(ham_rows):
        malignant = row["dx"] in ("mel", "bcc", "akiec")
        archive.append([row["image_id"], names[row["dx"]] if i % 3 else "", "malignant" if malignant else "benign",
                        row["lesion_id"], f"IP_{i // 2:07d}", row["age"], row["sex"]])
    seeds["isic-archive"] = {"isic-archive.csv": csv_text(archive)}
    # A manifest of HAM10000 paths with quoted fields and a split column.
    manifest = [["path", "label", "split", "lesion_id"]]
    manifest += [[f"HAM10000_images_part_1/{row['image_id']}.jpg", row["dx"], ("train", "val", "test")[i % 3],
                  row["lesion_id"]] for i, row in enumerate(ham_rows)]
    seeds["csv-manifest"]["ham-manifest.csv"] = csv_text(manifest)
    for target, files in seeds.items():
        for name, blob in files.items():
            write(out / target, name, blob)
            write(out / "dataset-detect", name, blob)


def metadata_spec_seeds(data: Path, out: Path) -> None:
    """Specs as MetadataSpecBuilder derives them from a training split (age standardised with a
    missing indicator, sex and site one-hot with an unknown slot and the usual aliases), from the
    HAM10000 sample's own metadata, each with a real row's values typed as `age=..,sex=..,site=..`."""
    rows = list(csv.DictReader((data / "ham10000-sample/HAM10000_metadata.csv").open()))
    ages = np.array([float(r["age"]) for r in rows if r["age"] not in ("", "unknown")])
    categories = lambda column: sorted({r[column] for r in rows} - {"", "unknown"})
    age = {"name": "age", "column": "age",
           "numeric": {"scale": float(np.float32(1 / ages.std())), "shift": float(np.float32(-ages.mean() / ages.std())),
                       "fill": 0.0, "missingIndicator": True}}
    sex = {"name": "sex", "column": "sex",
           "categorical": {"categories": categories("sex"), "aliases": {"m": "male", "f": "female"}, "unknownSlot": True}}
    site = {"name": "site", "column": "localization",
            "categorical": {"categories": categories("localization"),
                            "aliases": {"arm": "upper extremity", "leg": "lower extremity", "posterior torso": "back"},
                            "unknownSlot": False}}
    missing = ["", "unknown", "unk", "nan", "na", "n/a", "none", "null", "?", "-"]
    specs = {"age-sex-site": [age, sex, site], "age": [{**age, "numeric": {**age["numeric"], "missingIndicator": False}}],
             "site": [site]}
    for name, features in specs.items():
        spec = json.dumps({"formatVersion": 1, "features": features, "missingValues": missing}, indent=2, sort_keys=True)
        for i, row in enumerate(rows[:3]):
            typed = f"age={row['age']},sex={row['sex']},site={row['localization']}"
            if name != "age-sex-site":
                typed = typed.split(",")[0 if name == "age" else 2]
            write(out / "metadata-spec", f"{name}-{i}.txt", typed.encode() + b"\n" + spec.encode())


def safetensors(tensors: list[tuple[str, str, list[int], bytes]], metadata: dict[str, str] | None) -> bytes:
    header: dict = {"__metadata__": metadata} if metadata is not None else {}
    offset, blobs = 0, []
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the reference writer pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_header(blob: bytes) -> dict:
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + length])


def safetensors_seeds(weights: Path, out: Path) -> None:
    path = weights / "efficientnet-lite0/efficientnet-lite0.safetensors"
    real = path.read_bytes()
    (length,) = struct.unpack("<Q", real[:8])
    header = read_header(real)
    header.pop("__metadata__", None)
    smallest = sorted(header.items(), key=lambda item: (item[1]["data_offsets"][1] - item[1]["data_offsets"][0], item[0]))[:8]
    tensors = []
    for name, entry in smallest:
        begin, end = entry["data_offsets"]
        tensors.append((name, entry["dtype"], entry["shape"], real[8 + length + begin:8 + length + end]))
    write(out / "safetensors", "lite0-smallest.safetensors", safetensors(tensors, None))
    converted = []
    for (name, dtype, shape, blob), kind in zip(tensors, ["F16", "BF16", "I64", "F32"] * 2):
        values = np.frombuffer(blob, dtype="<f4") if dtype == "F32" else np.frombuffer(blob, dtype="<i8").astype("<f4")
        if kind == "F16":
            blob = values.astype("<f2").tobytes()
        elif kind == "BF16":
            blob = (values.view("<u4") >> 16).astype("<u2").tobytes()
        elif kind == "I64":
            blob = values.astype("<i8").tobytes()
        converted.append((name, kind, shape, blob))
    write(out / "safetensors", "lite0-mixed-dtypes.safetensors", safetensors(converted, {"format": "pt"}))
    write(out / "safetensors", "lite0-scalar-and-empty.safetensors",
          safetensors([tensors[0], ("empty", "F32", [0, 3], b""), ("scalar", "F32", [], tensors[1][3][:4])], {"source": "lite0"}))


def multipart(parts: list[tuple[str, str | None, str, bytes]], boundary: str) -> bytes:
    body = b""
    for name, filename, kind, blob in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {kind}\r\n\r\n".encode() + blob + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def upload_seeds(images: dict[str, bytes], out: Path) -> None:
    jpeg = images["dermamnist-" + next(n[len("dermamnist-"):] for n in images if n.startswith("dermamnist-"))]
    png = images["derma-RGBA.png"]
    curl = "------------------------d74496d66958873e"
    webkit = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    requests = {
        "raw-jpeg": b"image/jpeg\n" + jpeg,
        "raw-png": b"image/png\n" + png,
        "raw-octet": b"application/octet-stream\n" + images["ham-exif6.jpg"],
        "curl-form": f"multipart/form-data; boundary={curl}\n".encode()
                     + multipart([("image", "lesion.jpg", "image/jpeg", jpeg)], curl),
        "browser-batch": f'multipart/form-data; boundary="{webkit}"\n'.encode()
                         + multipart([("images", "a.jpg", "image/jpeg", jpeg), ("images", "b.png", "image/png", png),
                                      ("note", None, "text/plain", b"left forearm")], webkit),
        "wrong-type": b"text/plain; charset=utf-8\n" + jpeg,
    }
    for name, blob in requests.items():
        write(out / "multipart", name, blob)
        write(out / "upload", name, blob)


def keras_seeds(out: Path, scratch: Path) -> None:
    """Configurations of the heads the import tests check (ours, and ones it must refuse), in both
    layouts, nested and not, for two backbones; and .keras archives holding them."""
    dense = lambda name, units, activation: ("Dense", {"name": name, "units": units, "activation": activation, "use_bias": True})
    norm = ("BatchNormalization", {"name": "batch_normalization", "axis": -1, "epsilon": 1e-3, "center": True, "scale": True})
    ours = [("GlobalAveragePooling2D", {"name": "avg_pool", "data_format": "channels_last", "keepdims": False}),
            dense("dense", 8, "linear"), norm, ("Activation", {"name": "activation", "activation": "relu"}),
            ("Dropout", {"name": "dropout", "rate": 0.2}), dense("dense_1", 3, "softmax")]
    heads = {
        "ours": ours,
        "relu-layer-softmax": ours[:3] + [("ReLU", {"name": "re_lu", "max_value": None, "negative_slope": 0.0, "threshold": 0.0})]
                              + [ours[4], dense("dense_1", 3, "linear"), ("Softmax", {"name": "softmax", "axis": -1})],
        "linear": [ours[0], dense("predictions", 7, "softmax")],
        "relu-in-dense": [ours[0], dense("dense", 8, "relu")] + ours[2:],
        "flatten": [ours[0], ("Flatten", {"name": "flatten"})] + ours[1:],
    }
    # In front of the backbone: none, or Rescaling + Normalization as the graph walk maps them.
    front_file = scratch / "front.json"
    front_file.write_text(json.dumps([
        {"class_name": "Rescaling", "config": {"name": "rescaling", "scale": 1 / 255, "offset": 0.0}},
        {"class_name": "Normalization", "config": {"name": "normalization", "axis": -1, "mean": [0.5, 0.45, 0.4],
                                                   "variance": [0.06, 0.05, 0.05], "invert": False}}]))
    features = {"densenet121": "relu", "xception": "block14_sepconv2_act"}
    for arch, feature in features.items():
        for label, head in heads.items():
            head_file = scratch / f"{label}.json"
            head_file.write_text(json.dumps([{"class_name": c, "config": config} for c, config in head]))
            for keras2 in (False, True):
                for nest in ("", "densenet"):
                    for front in (None, front_file):
                        args = argparse.Namespace(head_config=str(head_file), front_config=front and str(front),
                                                  feature_layer=feature, nest=nest, keras2_names=False, counter_offset=0)
                        config = json.dumps(keras_files.model_config(args, keras2=keras2)).encode()
                        name = f"{arch}-{label}-k{2 if keras2 else 3}{'-nested' if nest else ''}{'-front' if front else ''}.json"
                        write(out / "keras-config", name, arch.encode() + b"\n" + config)
    # .keras archives: the head's weights written by keras_files' Keras 3 writer, stored as Keras does.
    rng = np.random.default_rng(1)
    layers = [{"name": "dense", "class": "Dense", "nested": False,
               "arrays": [("kernel", rng.standard_normal((4, 8), dtype=np.float32)), ("bias", np.zeros(8, np.float32))]},
              {"name": "batch_normalization", "class": "BatchNormalization", "nested": False,
               "arrays": [(n, np.ones(8, np.float32)) for n in ("gamma", "beta", "moving_mean", "moving_variance")]},
              {"name": "dense_1", "class": "Dense", "nested": False,
               "arrays": [("kernel", rng.standard_normal((8, 3), dtype=np.float32)), ("bias", np.zeros(3, np.float32))]}]
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        keras_files.write_keras3(f, layers, argparse.Namespace(nest=""))
    head_file = scratch / "ours.json"
    config = json.dumps(keras_files.model_config(argparse.Namespace(head_config=str(head_file), front_config=None, feature_layer="relu", nest="",
                                                                    keras2_names=False, counter_offset=0), keras2=False))
    for label, method, comment in (("stored", zipfile.ZIP_STORED, b""), ("comment", zipfile.ZIP_STORED, b"saved by keras"),
                                   ("deflated", zipfile.ZIP_DEFLATED, b"")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=method) as archive:
            archive.comment = comment
            archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
            archive.writestr("config.json", config)
            archive.writestr("model.weights.h5", weights.getvalue())
        write(out / "zip-archive", f"head-{label}.keras", buffer.getvalue())


def ensemble_seeds(out: Path) -> None:
    """Manifests in the README's form beside the one `train --folds` writes (scripts/fuzz-corpus)."""
    for name, manifest in {
        "weighted.json": {"combination": "geometric", "members": [{"model": "fold-0/best.safetensors", "weight": 2.0, "tta": 8},
                                                                  {"model": "fold-1/best.safetensors", "weight": 0.5}]},
        "rank.json": {"combination": "rank", "members": [{"model": "/models/a.safetensors"}, {"model": "b.safetensors", "tta": 1}]},
    }.items():
        write(out / "ensemble-manifest", name, json.dumps(manifest, indent=2).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="../shared/data")
    parser.add_argument("--weights", type=Path, help="../shared/weights")
    parser.add_argument("--output", type=Path, help="one folder per fuzz target is written here")
    parser.add_argument("--metadata", type=Path, help="instead: print this model file's skinlesion metadata JSON")
    parser.add_argument("--spec", action="store_true", help="with --metadata: print its metadata spec instead")
    args = parser.parse_args()
    if args.metadata:
        metadata = read_header(args.metadata.read_bytes())["__metadata__"]["skinlesion"]
        sys.stdout.write(json.dumps(json.loads(metadata)["metadataSpec"], indent=2) if args.spec else metadata)
        return
    if not (args.data and args.weights and args.output):
        parser.error("--data, --weights and --output are required")
    scratch = args.output / ".scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    images = image_seeds(args.data, args.output)
    dataset_seeds(args.data, args.output)
    safetensors_seeds(args.weights, args.output)
    upload_seeds(images, args.output)
    metadata_spec_seeds(args.data, args.output)
    ensemble_seeds(args.output)
    keras_seeds(args.output, scratch)
    for directory in sorted(p for p in args.output.iterdir() if p.is_dir() and p != scratch):
        files = list(directory.iterdir())
        print(f"{directory.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
