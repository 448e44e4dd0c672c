#!/usr/bin/env python3
"""Reads a hotline checkpoint with numpy alone (no safetensors, no torch) and lists its tensors: name, dtype,
shape and the CRC-32 of the tensor's bytes. With --compare OTHER, compares two checkpoints tensor by tensor
(max |a - b|) and exits 1 when any tensor differs or is in one of them only.

A PATH is a state.safetensors file, a checkpoint folder (checkpoints/step-<N>/), or a run directory (its
newest checkpoint: the run's final parameters when it checkpointed at the end).

The file is read as the safetensors format defines it: an 8-byte little-endian header length, a JSON header
(per tensor: dtype, shape, data_offsets into the data that follows; __metadata__ optional), then the raw
little-endian data, row-major.

usage: tools/read_checkpoint.py PATH [--compare OTHER] [--atol X] [--exclude PREFIX ...] [--json]
exit codes: 0 listed (or equal), 1 the checkpoints differ, 2 a path or file that cannot be read"""
import argparse
import json
import math
import os
import re
import sys
import zlib

import numpy as np

DTYPES = {
    "F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4", "I64": "<i8",
    "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?",
}
MAX_HEADER = 1 << 28
CHUNK = 1 << 22  # elements per step of the comparison: bounded temporaries for multi-GiB tables


class ReadError(Exception):
    pass


def tensor_file(path):
    """The state.safetensors a PATH stands for."""
    if os.path.isfile(path):
        return path
    if os.path.isfile(os.path.join(path, "state.safetensors")):
        return os.path.join(path, "state.safetensors")
    folder = os.path.join(path, "checkpoints")
    steps = sorted(n for n in os.listdir(folder) if re.fullmatch(r"step-\d+", n)) if os.path.isdir(folder) else []
    if not steps:
        raise ReadError(f"{path}: not a safetensors file, a checkpoint folder or a run directory with checkpoints")
    return os.path.join(folder, steps[-1], "state.safetensors")


def is_sizes(xs):
    return isinstance(xs, list) and all(type(x) is int and x >= 0 for x in xs)


class Checkpoint:
    """A safetensors file's header, and its tensors as read-only arrays mapped from the file."""

    def __init__(self, path):
        self.path = tensor_file(path)
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise ReadError(f"{self.path}: shorter than a safetensors header")
            length = int.from_bytes(head, "little")
            if length > size - 8 or length > MAX_HEADER:
                raise ReadError(f"{self.path}: header length {length} exceeds the file ({size} bytes)")
            try:
                header = json.loads(f.read(length))
            except ValueError:
                raise ReadError(f"{self.path}: the header is not valid JSON")
        self.metadata = header.pop("__metadata__", None) or {}
        self.start = 8 + length
        self.infos = header
        end = 0
        for name, info in header.items():
            self.check(name, info)
            end = max(end, info["data_offsets"][1])
        if self.start + end != size:
            raise ReadError(f"{self.path}: {size} bytes, the header describes {self.start + end}")
        self.data = np.memmap(self.path, dtype=np.uint8, mode="r", offset=self.start, shape=(end,)) if end else np.zeros(0, np.uint8)

    def check(self, name, info):
        """A header entry: a dtype numpy reads, a shape of sizes, and a byte range its elements fill exactly."""
        shape, offsets = (info.get("shape"), info.get("data_offsets")) if isinstance(info, dict) else (None, None)
        if not is_sizes(shape) or not is_sizes(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
            raise ReadError(f"{self.path}: tensor {name!r} has a malformed header entry")
        dtype = DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise ReadError(f"{self.path}: tensor {name!r} has dtype {info.get('dtype')!r}, not one numpy reads")
        begin, end = offsets
        need = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if end - begin != need:
            raise ReadError(f"{self.path}: tensor {name!r} spans {end - begin} bytes, its shape {info['shape']} needs {need}")

    def names(self, exclude):
        return [n for n in self.infos if not any(n.startswith(p) for p in exclude)]

    def raw(self, name):
        begin, end = self.infos[name]["data_offsets"]
        return self.data[begin:end]

    def array(self, name):
        info = self.infos[name]
        return self.raw(name).view(DTYPES[info["dtype"]]).reshape(info["shape"])

    def crc32(self, name):
        return f"{zlib.crc32(self.raw(name)):08x}"


def shape_text(shape):
    return "[" + ", ".join(map(str, shape)) + "]"


def max_abs_difference(a, b):
    """max |a - b| over the elements, in float64 (NaN where one side holds a NaN the other does not)."""
    a, b, worst = a.reshape(-1), b.reshape(-1), 0.0
    for at in range(0, a.size, CHUNK):
        x, y = a[at:at + CHUNK].astype(np.float64), b[at:at + CHUNK].astype(np.float64)
        both_nan = np.isnan(x) & np.isnan(y)
        d = np.abs(x - y)
        d[both_nan | (x == y)] = 0.0  # equal infinities are no difference
        if np.isnan(d).any():
            return float("nan")
        worst = max(worst, float(d.max(initial=0.0)))
    return worst


def list_tensors(ckpt, exclude, as_json):
    names = ckpt.names(exclude)
    rows = [(n, ckpt.infos[n]["dtype"], ckpt.infos[n]["shape"], ckpt.crc32(n)) for n in names]
    if as_json:
        print(json.dumps({"path": ckpt.path, "metadata": ckpt.metadata,
                          "tensors": {n: {"dtype": d, "shape": s, "crc32": c} for n, d, s, c in rows}}))
        return 0
    about = ", ".join(f"{k} {v}" for k, v in ckpt.metadata.items())
    print(f"{ckpt.path}: {len(rows)} tensors, {ckpt.data.size:,} bytes of data{f' ({about})' if about else ''}")
    width = max([len(n) for n in names] + [4])
    shape_width = max([len(shape_text(s)) for _, _, s, _ in rows] + [5])
    print(f"{'name':<{width}}  dtype  {'shape':<{shape_width}}  crc32")
    for n, d, s, c in rows:
        print(f"{n:<{width}}  {d:<5}  {shape_text(s):<{shape_width}}  {c}")
    return 0


def compare(a, b, exclude, atol, as_json):
    """Tensor by tensor: dtype, shape, then max |a - b| against atol; returns the exit code."""
    names_a, names_b = a.names(exclude), b.names(exclude)
    only_a, only_b = [n for n in names_a if n not in b.infos], [n for n in names_b if n not in a.infos]
    results = {}
    for n in (n for n in names_a if n in b.infos):
        ia, ib = a.infos[n], b.infos[n]
        if (ia["dtype"], ia["shape"]) != (ib["dtype"], ib["shape"]):
            results[n] = {"equal": False, "why": f"{ia['dtype']}{shape_text(ia['shape'])} vs {ib['dtype']}{shape_text(ib['shape'])}"}
            continue
        diff = max_abs_difference(a.array(n), b.array(n))
        if not math.isfinite(diff):  # JSON has no NaN or infinity
            results[n] = {"equal": False, "why": "a NaN where the other holds a number" if math.isnan(diff) else "an infinity against another value"}
        else:
            results[n] = {"equal": diff <= atol, "maxAbsDiff": diff}
    differ = [n for n, r in results.items() if not r["equal"]]
    mismatch = bool(differ or only_a or only_b)
    if as_json:
        print(json.dumps({"a": a.path, "b": b.path, "equal": not mismatch, "tensors": results, "onlyInA": only_a, "onlyInB": only_b}))
        return 1 if mismatch else 0
    width = max([len(n) for n in results] + [4])
    print(f"A {a.path}\nB {b.path}\n{'name':<{width}}  max |A - B|")
    for n, r in results.items():
        print(f"{n:<{width}}  {r.get('why') or format(r['maxAbsDiff'], '.6g')}{'' if r['equal'] else '  DIFFERS'}")
    for side, names in (("A", only_a), ("B", only_b)):
        for n in names:
            print(f"{n:<{width}}  only in {side}")
    print(f"{len(results)} tensors compared (atol {atol:g}): {len(differ)} differ, {len(only_a)} only in A, {len(only_b)} only in B")
    return 1 if mismatch else 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="state.safetensors, a checkpoint folder, or a run directory")
    parser.add_argument("--compare", metavar="OTHER", help="a second checkpoint to compare with, tensor by tensor")
    parser.add_argument("--atol", type=float, default=0.0, help="largest |A - B| taken as equal (default 0: exact)")
    parser.add_argument("--exclude", metavar="PREFIX", action="append", default=[], help="skip tensors whose names start so (e.g. policy.)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    try:
        a = Checkpoint(args.path)
        if args.compare is None:
            return list_tensors(a, args.exclude, args.json)
        return compare(a, Checkpoint(args.compare), args.exclude, args.atol, args.json)
    except (ReadError, OSError) as error:
        print(f"read_checkpoint.py: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
