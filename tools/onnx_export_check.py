#!/usr/bin/env python3
"""Checks an ONNX file that `skinlesion export` wrote, with ONNX's own tools and ONNX Runtime.

1. `onnx.checker.check_model(full_check=True)`: the file is valid ONNX and ONNX's shape
   inference agrees with the shapes the exporter declared.
2. ONNX Runtime with its default session options (all graph optimizations on, as a user
   runs it) computes every output for each case's inputs.

Nothing here knows SkinLesion's layers: the Swift test compares the outputs with its own.

Usage:
  onnx_export_check.py --model M.onnx --cases CASES.json --output-dir DIR

CASES.json: {"cases": [{"tag": "b1", "inputs": {"image": {"path": "x.bin", "shape": [1, 3, 64, 64]}}}]}
(raw little-endian float32). Each output goes to DIR/<tag>.<output>.bin; DIR/report.json gives
the IR version, opsets, inputs and outputs with their dimensions (a symbolic one as its name),
the operators used and the metadata properties.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort


def dimensions(value_info: onnx.ValueInfoProto) -> list:
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--cases", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args(argv)

    onnx.checker.check_model(args.model, full_check=True)
    model = onnx.load(args.model)
    report = {
        "ir_version": model.ir_version,
        "opsets": {entry.domain or "ai.onnx": entry.version for entry in model.opset_import},
        "producer": [model.producer_name, model.producer_version],
        "inputs": {i.name: dimensions(i) for i in model.graph.input},
        "outputs": {o.name: dimensions(o) for o in model.graph.output},
        "ops": dict(collections.Counter(node.op_type for node in model.graph.node)),
        "metadata": {p.key: p.value for p in model.metadata_props},
    }

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    out = Path(args.output_dir)
    for case in json.loads(Path(args.cases).read_text())["cases"]:
        feeds = {name: np.fromfile(spec["path"], dtype="<f4").reshape(spec["shape"]) for name, spec in case["inputs"].items()}
        for name, value in zip(names, session.run(names, feeds)):
            value.astype("<f4").tofile(out / f"{case['tag']}.{name}.bin")
        print(f"{Path(args.model).name} {case['tag']}: {[f.shape for f in feeds.values()]} ok", file=sys.stderr)
    (out / "report.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
