#!/usr/bin/env python3
"""Writes Keras-format weight files from one of our safetensors files, with h5py only, for the
Keras import tests: the import must give back every tensor and the same logits.

The layouts are the ones Keras writes (checked against files saved by pip keras 3.15 with
`model.save("m.h5")`, legacy `save_weights_to_hdf5_group`, `model.save_weights("m.weights.h5")`
and `model.save("m.keras")`):

* keras2-weights: root attributes `layer_names`, `backend`, `keras_version`; a group per layer
  with a `weight_names` attribute (fixed-length byte strings, as Keras 2 wrote them) naming
  datasets below the group (`<layer>/kernel:0`). A nested model (`--nest NAME`) is one group
  whose `weight_names` lists its layers' arrays, trainable ones first.
* keras2-model: the same below `model_weights` (variable-length strings, as Keras 3's legacy
  writer uses), plus the `model_config` attribute in Keras 2's layout (inbound nodes as
  `[[name, 0, 0, {}]]`, `output_layers` a list of outputs).
* keras3-weights: `layers/<key>/vars/0..n`, `key` from the class (`conv2d`, `conv2d_1`, ...,
  per container), the layer's name in the `name` attribute of `vars`; a nested model under
  `layers/functional/layers/...`.
* keras3-archive: a zip (stored, as Python's zipfile writes by default) of `config.json`
  (Keras 3's layout: inbound nodes as `{"args": [__keras_tensor__ ...]}`, one output as
  `[name, 0, 0]`), `metadata.json` and `model.weights.h5`.

The model configuration (`--head-config`, the layers after the backbone as the test wants
them, and `--front-config`, layers between the input and the backbone) stands the backbone in as one layer named `--feature-layer`, the Keras layer that ends
it, after an InputLayer: the importer reads the configuration from the output back to that
layer only. With `--nest` the backbone is a nested Functional model inside a Sequential,
as `Sequential([DenseNet121(...), GlobalAveragePooling2D(), ...])` saves.

What goes where comes from a JSON mapping written by the test (Keras layer name, class, and our
parameter name and layout for each array) and each backbone layer's Keras weight names and
shapes from the real Keras layer-list fixture. Layouts are converted here with NumPy:
conv (out, in, kh, kw) -> (kh, kw, in, out); depthwise (c*m, 1, kh, kw) -> (kh, kw, c, m);
dense (out, in) -> (in, out); `flattened:H,W,C`: Keras flattens (h, w, c), we (c, h, w).
A head BatchNorm (`"headBatchNorm": true`) gets its variance lowered by eps - 1e-5, the
difference between its Keras epsilon (from the head configuration, else Keras's default 1e-3)
and ours, which the import adds back.

Usage:
  keras_files.py write --weights W.safetensors --mapping M.json --fixture F.json --layout L
                       --output OUT [--nest NAME] [--keras2-names] [--counter-offset N]
                       [--drop LAYER] [--corrupt LAYER] [--head-config H.json --feature-layer NAME]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resnet_reference import read_safetensors  # noqa: E402

AUTO = re.compile(r"^(conv2d|batch_normalization|dense|separable_conv2d|depthwise_conv2d)(?:_(\d+))?$")
WEIGHT_NAMES = {"Dense": ["kernel", "bias"], "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"]}
SNAKE = {"Conv2D": "conv2d", "BatchNormalization": "batch_normalization", "Dense": "dense",
         "SeparableConv2D": "separable_conv2d", "DepthwiseConv2D": "depthwise_conv2d"}
KERAS_EPSILON, OUR_EPSILON = 1e-3, 1e-5


def to_keras(value: np.ndarray, layout: str) -> np.ndarray:
    if layout == "vector":
        return value
    if layout == "conv":
        return value.transpose(2, 3, 1, 0)
    if layout == "depthwise":
        out, _, kh, kw = value.shape
        return value.reshape(out, kh, kw).transpose(1, 2, 0)[..., None]  # multiplier 1
    if layout == "dense":
        return value.T
    if layout.startswith("flattened:"):
        h, w, c = map(int, layout.split(":")[1].split(","))
        out = value.shape[0]
        return value.reshape(out, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, out)
    raise ValueError(f"unknown layout {layout}")


def rename(name: str, args: argparse.Namespace) -> str:
    """Keras 2 spellings (`conv1/conv`, counters from 1) and session counter offsets."""
    if match := AUTO.match(name):
        counter = int(match.group(2) or 0) + args.counter_offset + (1 if args.keras2_names else 0)
        return match.group(1) + (f"_{counter}" if counter else "")
    if args.keras2_names and name in ("conv1_conv", "conv1_bn"):
        return name.replace("_", "/")
    return name


def head_epsilons(args: argparse.Namespace) -> dict[str, float]:
    """Each head BatchNormalization's epsilon by (unrenamed) layer name, from --head-config."""
    head = json.loads(Path(args.head_config).read_text()) if args.head_config else []
    return {layer["config"]["name"]: layer["config"].get("epsilon", KERAS_EPSILON)
            for layer in head if layer["class_name"] == "BatchNormalization"}


def layers_from(args: argparse.Namespace) -> list[dict]:
    weights, _ = read_safetensors(args.weights)
    epsilons = head_epsilons(args)
    fixture = {layer["name"]: layer for layer in json.loads(Path(args.fixture).read_text())["layers"]}
    layers = []
    for entry in json.loads(Path(args.mapping).read_text()):
        if entry["name"] == args.drop:
            continue
        known = None if entry.get("head") else fixture.get(entry["name"])
        names = [w["name"] for w in known["weights"]] if known else WEIGHT_NAMES[entry["class"]]
        arrays = []
        for name, spec in zip(names, entry["weights"], strict=True):
            value = to_keras(weights[spec["ours"]].astype(np.float32), spec["layout"])
            if entry.get("headBatchNorm") and name == "moving_variance":
                value = value - np.float32(epsilons.get(entry["name"], KERAS_EPSILON) - OUR_EPSILON)
            if known:
                expected = next(w["shape"] for w in known["weights"] if w["name"] == name)
                assert list(value.shape) == expected, (entry["name"], name, value.shape, expected)
            if entry["name"] == args.corrupt and not arrays:
                value = value[..., :-1]  # one output too few
            arrays.append((name, np.ascontiguousarray(value)))
        layers.append({"name": rename(entry["name"], args), "class": known["class"] if known else entry["class"], "arrays": arrays,
                       "nested": bool(args.nest) and not entry.get("head", False)})
    return layers


def string_array(names: list[str], fixed: bool):
    return np.array([n.encode() for n in names], dtype="S") if fixed else np.array(names, dtype=h5py.string_dtype())


def write_keras2(group: h5py.Group, layers: list[dict], args: argparse.Namespace, fixed: bool) -> None:
    order: list[tuple[str, list]] = []  # (top-level layer name, [(weight path, value)])
    nested: list = []
    for layer in layers:
        paths = [(f"{layer['name']}/{name}:0", value) for name, value in layer["arrays"]]
        if layer["nested"]:
            if not nested:
                order.append((args.nest, nested))
            nested.extend(paths)
        else:
            order.append((layer["name"], paths))
    group.attrs["layer_names"] = string_array([name for name, _ in order], fixed)
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = b"2.15.0"
    for name, paths in order:
        if name == args.nest:  # trainable arrays first, then the moving statistics, as Keras 2 lists them
            paths = sorted(paths, key=lambda p: "moving_" in p[0])
        layer_group = group.create_group(name)
        layer_group.attrs["weight_names"] = string_array([path for path, _ in paths], fixed)
        for path, value in paths:
            layer_group.create_dataset(path, data=value)


def write_keras3(root: h5py.Group, layers: list[dict], args: argparse.Namespace) -> None:
    counters: dict[tuple[str, str], int] = {}

    def key(container: str, cls: str) -> str:
        base = SNAKE.get(cls, cls.lower())
        n = counters.get((container, base), 0)
        counters[(container, base)] = n + 1
        return base + (f"_{n}" if n else "")

    for layer in layers:
        container = "layers/functional/layers" if layer["nested"] else "layers"
        vars_group = root.create_group(f"{container}/{key(container, layer['class'])}/vars")
        vars_group.attrs["name"] = layer["name"]
        for index, (_, value) in enumerate(layer["arrays"]):
            vars_group.create_dataset(str(index), data=value)
    if args.nest:
        root.require_group("layers/functional/vars").attrs["name"] = args.nest
    root.require_group("vars").attrs["name"] = "model"


def model_config(args: argparse.Namespace, keras2: bool) -> dict:
    """The saved model's configuration: InputLayer -> backbone stand-in -> the head layers."""
    def tensor(source: str):
        if keras2:
            return [[[source, 0, 0, {}]]]
        history = {"shape": None, "dtype": "float32", "keras_history": [source, 0, 0]}
        return [{"args": [{"class_name": "__keras_tensor__", "config": history}], "kwargs": {}}]

    def layer(class_name: str, config: dict, source: str | None) -> dict:
        entry = {"class_name": class_name, "config": config, "name": config["name"],
                 "inbound_nodes": tensor(source) if source else []}
        if not keras2:
            entry["module"] = "keras.layers"
        return entry

    def functional(name: str, layers: list[dict]) -> dict:
        first, last = [layers[0]["name"], 0, 0], [layers[-1]["name"], 0, 0]
        return {"class_name": "Functional", "config": {"name": name, "trainable": True, "layers": layers,
                "input_layers": [first] if keras2 else first, "output_layers": [last] if keras2 else last}}

    head = []
    for entry in json.loads(Path(args.head_config).read_text()):
        config = dict(entry["config"])
        config["name"] = rename(config["name"], args)
        head.append((entry["class_name"], config))
    front = json.loads(Path(args.front_config).read_text()) if args.front_config else []
    inputs = layer("InputLayer", {"name": "input_layer", "batch_shape": [None, None, None, 3]}, None)
    before = [inputs]
    for entry in front:  # layers between the input and the backbone
        before.append(layer(entry["class_name"], entry["config"], before[-1]["name"]))
    feature = layer("Activation", {"name": args.feature_layer, "activation": "linear"}, before[-1]["name"])
    if args.nest:
        backbone = functional(args.nest, [inputs, feature])
        backbone["name"], backbone["inbound_nodes"] = args.nest, []
        layers = ([] if keras2 else [{"class_name": "InputLayer", "config": {"name": "input_outer"}}]) + [backbone]
        layers += [{"class_name": class_name, "config": config} for class_name, config in head]
        return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    layers, previous = before + [feature], args.feature_layer
    for class_name, config in head:
        layers.append(layer(class_name, config, previous))
        previous = config["name"]
    return functional("functional", layers)


def cmd_write(args: argparse.Namespace) -> None:
    layers = layers_from(args)
    if args.layout == "keras2-weights":
        with h5py.File(args.output, "w") as f:
            write_keras2(f, layers, args, fixed=True)
    elif args.layout == "keras2-model":
        with h5py.File(args.output, "w") as f:
            f.attrs["model_config"] = json.dumps(model_config(args, keras2=True))
            write_keras2(f.create_group("model_weights"), layers, args, fixed=False)
    elif args.layout in ("keras3-weights", "keras3-archive"):
        buffer = io.BytesIO()
        with h5py.File(buffer if args.layout == "keras3-archive" else args.output, "w") as f:
            write_keras3(f, layers, args)
        if args.layout == "keras3-archive":
            with zipfile.ZipFile(args.output, "w") as archive:
                archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
                archive.writestr("config.json", json.dumps(model_config(args, keras2=False)))
                archive.writestr("model.weights.h5", buffer.getvalue())
    print(f"{len(layers)} layers -> {args.output} ({args.layout})", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("write", help="write a Keras-format file")
    p.add_argument("--weights", required=True, help="our safetensors")
    p.add_argument("--mapping", required=True, help="JSON: [{name, class (head layers), head?, headBatchNorm?, weights: [{ours, layout}]}]")
    p.add_argument("--fixture", required=True, help="Keras layer list (Tests/ModelsTests/Fixtures/keras)")
    p.add_argument("--layout", required=True, choices=["keras2-weights", "keras2-model", "keras3-weights", "keras3-archive"])
    p.add_argument("--output", required=True)
    p.add_argument("--nest", default="", help="put the backbone in a nested model of this name")
    p.add_argument("--keras2-names", action="store_true", help="Keras 2 spellings: counters from 1, conv1/conv")
    p.add_argument("--counter-offset", type=int, default=0, help="add to automatic names' counters")
    p.add_argument("--drop", default="", help="leave this Keras layer out")
    p.add_argument("--corrupt", default="", help="give this Keras layer's first array a wrong shape")
    p.add_argument("--head-config", default="", help="JSON: the layers after the backbone, [{class_name, config}] "
                   "(needed by keras2-model and keras3-archive)")
    p.add_argument("--feature-layer", default="", help="the Keras layer that ends the backbone")
    p.add_argument("--front-config", default="", help="JSON: layers between the input and the backbone, [{class_name, config}]")
    p.set_defaults(func=cmd_write)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
