#!/usr/bin/env python3
"""Builds real Keras models with pip keras (PyTorch CPU backend), saves them in the formats
Keras writes, and gives Keras's own outputs for images the Swift test prepared, for the tests
that import Keras-saved files.

The Swift side decodes real HAM10000 images and makes its evaluation views (shorter side to
the input size, centre crop), writes their RGB bytes as float32 NHWC (`--pixels`, shape
`--shape N,H,W,3`), and compares its imported model's probabilities with `outputs.bin`. The
pixels go into the Keras model as they are: models with their own `Rescaling` /
`Normalization` layers take raw 0-255 RGB, and the ResNet50 models get Keras's own
`keras.applications.resnet50.preprocess_input` (caffe: BGR, ImageNet means) first, as their
users do. Weights are random (nothing is downloaded), seeded, with every BatchNormalization's
statistics moved off their initial values and the output Dense scaled to logits of standard
deviation 2 on the given images, so the probabilities spread without saturating.

Models (`--model`):
* resnet50-top: `keras.applications.ResNet50(weights=None, classifier_activation=None)`,
  saved as Keras Applications ships its weights (`resnet50_weights_tf_dim_ordering_tf_kernels.h5`,
  Keras 2's weights-only layout, written with Keras's legacy HDF5 writer) and its backbone as
  `include_top=False` has it (`..._notop.h5`); outputs are the 1000 logits.
* resnet50-seed: `ResNet50(include_top=False)` at 224 with the seed projects' head,
  GlobalAveragePooling2D -> Dense(7, softmax), the backbone's layers in the outer model
  (`Model(base.input, ...)`); saved as `model.h5` (`model.save`, Keras's legacy format) and
  `model.keras`; outputs are probabilities.
* preprocessing: raw RGB Input(100, 100, 3) -> Rescaling(1/255) -> Normalization (adapted:
  mean, variance and an int64 count as weights) -> Xception(include_top=False) nested as one
  layer -> GlobalMaxPooling2D -> Dropout -> Dense(48, relu) -> BatchNormalization(eps 1e-4) ->
  Dense(24) -> ReLU -> Dropout -> Dense(7) -> Softmax; `model.keras`, `model.h5` and the
  weights alone (`model.weights.h5`, which says nothing of where the Normalization sits).
* metadata: two inputs, the image at 64x64 (Rescaling to [-1, 1], a nested ResNet50,
  GlobalAveragePooling2D) and the encoded patient metadata (`--metadata`, float32 [N, M], made
  by the Swift side with a MetadataSpec) through Dense(16) -> BatchNormalization -> ReLU ->
  Dropout, joined by Concatenate([image, metadata]) -> Dense(32) -> BatchNormalization ->
  ReLU -> Dropout -> Dense(7, softmax); `model.keras` and `model.h5`.
* normalization-only: Input(96, 96, 3) -> Normalization(mean, variance given to the
  constructor, so they live in the configuration) -> DenseNet121(include_top=False,
  pooling="avg") nested -> Dense(7, softmax); `model.keras`.

Every saved file is loaded back with Keras and must give the same outputs as the model that
saved it (else this tool fails), so the files are what Keras itself reads.

Usage:
  KERAS_BACKEND=torch keras_models_reference.py --model NAME --pixels X.bin --shape N,H,W,3 --output DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

CLASSES = 7


def randomize_batch_norms(model: keras.Model, rng: np.random.Generator) -> None:
    for layer in iterate(model):
        if isinstance(layer, layers.BatchNormalization):
            arrays = layer.get_weights()
            shape = arrays[-1].shape
            gamma = [rng.uniform(0.5, 1.2, shape)] if layer.scale else []
            beta = [rng.uniform(-0.1, 0.1, shape)] if layer.center else []
            layer.set_weights(gamma + beta + [rng.uniform(-0.2, 0.2, shape), rng.uniform(0.5, 1.5, shape)])


def iterate(model: keras.Model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from iterate(layer)
        else:
            yield layer


def spread_logits(model: keras.Model, inputs: np.ndarray, target: float = 2.0) -> None:
    """Random features give logits that are nearly equal, or so far apart that the softmax
    saturates; scaling the output Dense's kernel to logits of standard deviation `target`
    makes a probability comparison say something."""
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)][-1]
    features = keras.ops.convert_to_numpy(keras.Model(model.inputs, dense.input)(inputs, training=False))
    kernel, bias = dense.get_weights()
    spread = float((features @ kernel).std())
    dense.set_weights([kernel * (target / spread), bias])


def resnet50_top(pixels):
    model = keras.applications.ResNet50(weights=None, classifier_activation=None)
    return model, keras.applications.resnet50.preprocess_input(pixels.copy())


def resnet50_seed(pixels):
    base = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(224, 224, 3))
    x = layers.GlobalAveragePooling2D()(base.output)
    outputs = layers.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(base.input, outputs), keras.applications.resnet50.preprocess_input(pixels.copy())


def preprocessing(pixels):
    size = pixels.shape[1]
    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    norm = layers.Normalization(axis=-1)
    norm.adapt(pixels[:2] / 255)  # mean, variance and count become weights
    x = norm(x)
    x = keras.applications.Xception(weights=None, include_top=False, input_shape=(size, size, 3))(x)
    x = layers.GlobalMaxPooling2D()(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(48, activation="relu")(x)
    x = layers.BatchNormalization(epsilon=1e-4)(x)
    x = layers.Dense(24)(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(CLASSES)(x)
    outputs = layers.Softmax()(x)
    return keras.Model(inputs, outputs), pixels


def normalization_only(pixels):
    size = pixels.shape[1]
    inputs = keras.Input((size, size, 3))
    x = layers.Normalization(mean=[180.0, 140.0, 150.0], variance=[900.0, 1600.0, 1225.0])(inputs)
    x = keras.applications.DenseNet121(weights=None, include_top=False, pooling="avg", input_shape=(size, size, 3))(x)
    outputs = layers.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs), pixels


def metadata(pixels, values):
    size = pixels.shape[1]
    image, meta = keras.Input((size, size, 3), name="image"), keras.Input((values.shape[1],), name="metadata")
    x = layers.Rescaling(1 / 127.5, offset=-1)(image)
    x = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(size, size, 3))(x)
    x = layers.GlobalAveragePooling2D()(x)
    m = layers.Dense(16)(meta)
    m = layers.BatchNormalization()(m)
    m = layers.ReLU()(m)
    m = layers.Dropout(0.3)(m)
    h = layers.Concatenate()([x, m])
    h = layers.Dense(32)(h)
    h = layers.BatchNormalization(epsilon=1e-4)(h)
    h = layers.Activation("relu")(h)
    h = layers.Dropout(0.4)(h)
    outputs = layers.Dense(CLASSES, activation="softmax")(h)
    return keras.Model([image, meta], outputs), [pixels, values]


MODELS = {
    "resnet50-top": (resnet50_top, ["resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                                    "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"]),
    "resnet50-seed": (resnet50_seed, ["model.h5", "model.keras"]),
    "preprocessing": (preprocessing, ["model.keras", "model.h5", "model.weights.h5"]),
    "normalization-only": (normalization_only, ["model.keras"]),
    "metadata": (metadata, ["model.keras", "model.h5"]),
}


def save(model: keras.Model, path: Path) -> None:
    if path.name.startswith("resnet50_weights"):
        import h5py
        from keras.src.legacy.saving import legacy_h5_format

        if path.name.endswith("_notop.h5"):  # the same backbone weights, as include_top=False has them
            notop = keras.applications.ResNet50(weights=None, include_top=False)
            for layer in notop.layers:
                if layer.weights:
                    layer.set_weights(model.get_layer(layer.name).get_weights())
            model = notop
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
    elif path.name.endswith(".weights.h5"):
        model.save_weights(path)
    else:
        model.save(path)


def reload(model_name: str, path: Path) -> keras.Model | None:
    if path.name.endswith(".weights.h5") or path.name.endswith("_notop.h5"):
        return None  # weights alone: nothing to call without the code that built the model
    if path.name.startswith("resnet50_weights"):
        model = keras.applications.ResNet50(weights=None, classifier_activation=None)
        model.load_weights(path)
        return model
    return keras.saving.load_model(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--pixels", required=True, help="float32 NHWC RGB 0-255")
    parser.add_argument("--shape", required=True, help="N,H,W,3")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--metadata", help="float32 [N, M] encoded metadata, for the two-input model")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    pixels = np.fromfile(args.pixels, dtype="<f4").reshape(shape)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    build, files = MODELS[args.model]
    if args.model == "metadata":
        values = np.fromfile(args.metadata, dtype="<f4").reshape(shape[0], -1)
        model, inputs = build(pixels, values)
    else:
        model, inputs = build(pixels)
    randomize_batch_norms(model, rng)
    spread_logits(model, inputs)
    outputs = keras.ops.convert_to_numpy(model(inputs, training=False)).astype(np.float32)
    args.output.mkdir(parents=True, exist_ok=True)
    for name in files:
        path = args.output / name
        save(model, path)
        reloaded = reload(args.model, path)
        if reloaded is None:
            continue
        again = keras.ops.convert_to_numpy(reloaded(inputs, training=False)).astype(np.float32)
        if not np.allclose(again, outputs, rtol=0, atol=1e-6 * max(1.0, np.abs(outputs).max())):
            sys.exit(f"{path}: Keras reloads it to different outputs (max diff {np.abs(again - outputs).max()})")
    outputs.tofile(args.output / "outputs.bin")
    (args.output / "model.json").write_text(json.dumps({"files": files, "outputs": list(outputs.shape),
                                                        "keras_version": keras.__version__}))
    top = outputs.argmax(1)
    print(f"{args.model}: {files} -> outputs {outputs.shape}, top-1 {top.tolist()}, max {outputs.max(1).round(3).tolist()}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
