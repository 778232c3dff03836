#!/usr/bin/env python3
"""Saves a real Keras model in every format Keras writes, with its logits, for the optional
Swift test that imports actual Keras-saved files (the h5py-written ones are always tested).

Builds `keras.applications.DenseNet121(weights=None, include_top=False)` at a small input with
a user's head (GlobalAveragePooling2D -> Dense(16) -> BatchNormalization -> ReLU -> Dropout ->
Dense(classes)), moves every BatchNormalization's statistics off their initial values, and
writes model.keras, model.weights.h5 (Keras 3) and model.h5 (the legacy Keras 2 format Keras
3 still writes), plus x.bin (float32 NCHW input) and logits.bin.

Needs pip `keras` and a backend: scripts/setup installs keras with PyTorch's CPU wheel
(`KERAS_BACKEND=torch`) into .build/venv.

Usage: keras_saved_reference.py --output DIR [--size 64] [--batch 2] [--classes 3]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import numpy as np  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--classes", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(7)
    base = keras.applications.DenseNet121(weights=None, include_top=False, input_shape=(args.size, args.size, 3))
    x = keras.layers.GlobalAveragePooling2D()(base.output)
    x = keras.layers.Dense(16)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(args.classes)(x)
    model = keras.Model(base.input, outputs)
    rng = np.random.default_rng(8)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.2, gamma.shape), rng.uniform(-0.1, 0.1, beta.shape),
                               rng.uniform(-0.2, 0.2, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    args.output.mkdir(parents=True, exist_ok=True)
    model.save(args.output / "model.keras")
    model.save_weights(args.output / "model.weights.h5")
    model.save(args.output / "model.h5")
    pixels = rng.standard_normal((args.batch, 3, args.size, args.size)).astype(np.float32)
    logits = keras.ops.convert_to_numpy(model(pixels.transpose(0, 2, 3, 1), training=False)).astype(np.float32)
    pixels.tofile(args.output / "x.bin")
    logits.tofile(args.output / "logits.bin")


if __name__ == "__main__":
    main()
