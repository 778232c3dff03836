#!/usr/bin/env python3
"""Writes PyTorch checkpoints with pip's CPU torch for the PyTorch import tests, each with a
reference: a safetensors file (written here by hand, no safetensors package) holding every
tensor of the state dict as torch itself reads it back (`torch.load`, then `.float()`
contiguous), with the stored dtype in the metadata. The Swift reader must give back exactly
those values, names and shapes.

Commands:
  tensors --directory D --variants LAYOUT[-protocolN][-deflate|-zip64],...
      writes D/<variant>.pth and D/<variant>.reference.safetensors for each variant (one torch
      start for all), e.g. zip, legacy-protocol4, zip-deflate: every kind of tensor a state
      dict can hold: float32/float16/bfloat16/int64, a 0-d counter, a Parameter, transposed
      and sliced views, two tensors on one storage at different offsets, the same tensor
      twice, a stride-0 expand, an empty tensor. -deflate and -zip64 rewrite the zip with
      Python's zipfile, compressed or with ZIP64 records, as other zip tools might leave it
  checkpoint --directory D --variants LAYOUT:KEY,...
      writes D/checkpoint-<layout>-<key>.pth and D/checkpoint.reference.safetensors: a training checkpoint: {'epoch', <key>: DataParallel-prefixed state dict, 'optimizer':
      SGD state with momentum buffers, 'best_acc1'}; the reference has the names unprefixed
  from-safetensors --input W.safetensors --layout zip|legacy --output X.pth
      one of our own safetensors files (F32 and I64 only, read here with NumPy) as torch.save
      writes a state dict: the names are ours, as torchvision's and lukemelas's are
  resnet50 --output X.pth [--classes N] [--seed S]
      torchvision's ResNet-50 (v1.5) written as plain torch.nn with torchvision's module
      names (torchvision itself links CUDA here), randomly initialised, its state_dict saved
      as torchvision's `torch.save(model.state_dict())` does
"""
import argparse
import collections
import json
import struct
import sys
import zipfile

import numpy as np

import torch
from torch import nn

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def write_reference(state_dict, path):
    """safetensors of every tensor as float32 (int64 too: the test values fit exactly)."""
    header, blobs, offset = {}, [], 0
    metadata = {}
    for name in sorted(state_dict):
        tensor = state_dict[name]
        metadata[name] = DTYPES[tensor.dtype]
        data = tensor.detach().float().contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"dtypes": json.dumps(metadata, sort_keys=True)}
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def save(obj, path, layout, protocol=2):
    torch.save(obj, path, _use_new_zipfile_serialization=(layout == "zip"), pickle_protocol=protocol)


def every_kind_of_tensor():
    torch.manual_seed(7)
    base = torch.randn(3, 5)
    big = torch.randn(4, 6)
    shared = torch.randn(20)
    a = shared[:10].view(2, 5)
    state = collections.OrderedDict()
    state["conv.weight"] = torch.randn(4, 3, 3, 3)
    state["half"] = torch.randn(5, 7).half()
    state["bf16"] = torch.randn(6).bfloat16()
    state["bn.num_batches_tracked"] = torch.tensor(12345)
    state["long"] = torch.tensor([-(2 ** 40), 0, 2 ** 20], dtype=torch.int64)
    state["transposed"] = base.t()
    state["slice"] = big[:, 1:3]
    state["shared_a"] = a
    state["shared_b"] = shared[10:]
    state["same"] = a
    state["param"] = nn.Parameter(torch.randn(4))
    state["expanded"] = torch.randn(3, 1).expand(3, 4)
    state["empty"] = torch.zeros(0, 3)
    assert not state["transposed"].is_contiguous() and state["slice"].storage_offset() == 1
    assert state["shared_b"].untyped_storage().data_ptr() == a.untyped_storage().data_ptr()
    return state


def repack(path, how):
    with zipfile.ZipFile(path) as original:
        members = [(info.filename, original.read(info)) for info in original.infolist()]
    compression = zipfile.ZIP_DEFLATED if how == "deflate" else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=compression) as rewritten:
        for name, data in members:
            with rewritten.open(name, "w", force_zip64=(how == "zip64")) as member:
                member.write(data)


def command_tensors(args):
    for variant in args.variants.split(","):
        parts = variant.split("-")
        layout, protocol = parts[0], 2
        for part in parts[1:]:
            if part.startswith("protocol"):
                protocol = int(part[len("protocol"):])
        output = f"{args.directory}/{variant}.pth"
        save(every_kind_of_tensor(), output, layout, protocol)
        for how in (part for part in parts[1:] if part in ("deflate", "zip64")):
            repack(output, how)
        # torch's own weights-only unpickler reads protocol 2 only; this file is our own.
        write_reference(torch.load(output, weights_only=protocol == 2), f"{args.directory}/{variant}.reference.safetensors")


def command_checkpoint(args):
    for variant in args.variants.split(","):
        layout, key = variant.split(":")
        write_checkpoint(layout, key, f"{args.directory}/checkpoint-{layout}-{key}.pth",
                         f"{args.directory}/checkpoint.reference.safetensors")


def write_checkpoint(layout, key, output, reference):
    torch.manual_seed(8)
    model = nn.Sequential(collections.OrderedDict(
        conv=nn.Conv2d(3, 4, 3, bias=False), bn=nn.BatchNorm2d(4), pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
        fc=nn.Linear(4, 2)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 5, 5)).sum().backward()
    optimizer.step()
    wrapped = nn.DataParallel(model)  # the names DataParallel's state_dict gives: module.conv.weight, …
    checkpoint = {"epoch": 3, key: wrapped.state_dict(), "optimizer": optimizer.state_dict(), "best_acc1": 0.625,
                  "arch": "toy"}
    assert all(name.startswith("module.") for name in checkpoint[key])
    save(checkpoint, output, layout)
    write_reference(model.state_dict(), reference)


def read_safetensors(path):
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(length))
        data = f.read()
    header.pop("__metadata__", None)
    types = {"F32": np.float32, "I64": np.int64}
    state = collections.OrderedDict()
    for name in sorted(header):
        entry = header[name]
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=types[entry["dtype"]]).reshape(entry["shape"])
        state[name] = torch.from_numpy(array.copy())
    return state


def command_from_safetensors(args):
    save(read_safetensors(args.input), args.output, args.layout)


class Bottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck: stride on the 3×3 (v1.5), names conv1..3, bn1..3, downsample."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet50(nn.Module):
    """torchvision.models.resnet50's module tree and initialisation (kaiming normal, BN 1/0)."""

    def __init__(self, classes):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(64, 3)
        self.layer2 = self._layer(128, 4, 2)
        self.layer3 = self._layer(256, 6, 2)
        self.layer4 = self._layer(512, 3, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def command_resnet50(args):
    torch.manual_seed(args.seed)
    model = ResNet50(args.classes)
    if args.classes == 1000:
        assert sum(p.numel() for p in model.parameters()) == 25_557_032  # torchvision's count
    torch.save(model.state_dict(), args.output)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    tensors = commands.add_parser("tensors")
    tensors.add_argument("--directory", required=True)
    tensors.add_argument("--variants", required=True)
    convert = commands.add_parser("from-safetensors")
    convert.add_argument("--input", required=True)
    convert.add_argument("--layout", choices=["zip", "legacy"], required=True)
    convert.add_argument("--output", required=True)
    checkpoint = commands.add_parser("checkpoint")
    checkpoint.add_argument("--directory", required=True)
    checkpoint.add_argument("--variants", required=True)
    resnet = commands.add_parser("resnet50")
    resnet.add_argument("--output", required=True)
    resnet.add_argument("--classes", type=int, default=1000)
    resnet.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    commands = {"tensors": command_tensors, "checkpoint": command_checkpoint, "from-safetensors": command_from_safetensors,
                "resnet50": command_resnet50}
    commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
