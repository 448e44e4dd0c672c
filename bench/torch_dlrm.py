#!/usr/bin/python3
"""The PyTorch reference for hotline's benchmarks: a DLRM as facebookresearch/dlrm builds it
(nn.EmbeddingBag(mode="sum", sparse=True) tables, nn.Linear + ReLU MLPs, dot interaction, sigmoid +
BCELoss, torch.optim.SGD), trained on batches that hotline wrote to a folder, so both see identical data.

  speed:  /usr/bin/python3 bench/torch_dlrm.py speed DIR --warmup 10
          times forward, loss, zero_grad, backward and step of every batch after the warm-up (batch
          generation excluded, as dlrm's --print-time), prints one JSON line.
  auc:    /usr/bin/python3 bench/torch_dlrm.py auc DIR
          trains one pass over DIR/train with the initial weights in DIR/init, scores DIR/test, prints JSON.

Folder layout (written by bench/batch-files.ts): meta.json, then per split dense.f32 [rows x 13],
indices.i32 [tables x rows], labels.f32 [rows], batches in storage order.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from pytorch_dlrm import Dlrm  # noqa: E402


def load_split(folder, meta, rows):
    tables = len(meta["tableRows"])
    dense = np.fromfile(os.path.join(folder, "dense.f32"), dtype=np.float32).reshape(rows, meta["denseFeatures"])
    indices = np.fromfile(os.path.join(folder, "indices.i32"), dtype=np.int32).reshape(tables, rows)
    labels = np.fromfile(os.path.join(folder, "labels.f32"), dtype=np.float32)
    return dense, indices, labels


def batches(split, size):
    dense, indices, labels = split
    for start in range(0, len(labels), size):
        end = min(start + size, len(labels))
        n = end - start
        offsets = torch.arange(n, dtype=torch.long)
        yield (
            torch.from_numpy(dense[start:end]),
            [torch.from_numpy(indices[t, start:end].astype(np.int64)) for t in range(indices.shape[0])],
            [offsets] * indices.shape[0],
            torch.from_numpy(labels[start:end]),
        )


def build(meta):
    dim = meta["embeddingDim"]
    features = len(meta["tableRows"]) + 1
    top_in = dim + features * (features - 1) // 2
    model = Dlrm(meta["bottomMlp"], [top_in] + meta["topMlp"], meta["tableRows"], dim)
    with torch.no_grad():  # dlrm's initialisation
        for mlp in (model.bottom, model.top):
            for m in mlp:
                if isinstance(m, nn.Linear):
                    fan_out, fan_in = m.weight.shape
                    m.weight.normal_(0, np.sqrt(2 / (fan_in + fan_out)))
                    m.bias.normal_(0, np.sqrt(1 / fan_out))
        for t in model.tables:
            n = t.weight.shape[0]
            t.weight.uniform_(-np.sqrt(1 / n), np.sqrt(1 / n))
    return model


def load_init(model, folder):
    """Takes hotline's initial weights (float32 files named as hotline's parameters)."""
    with torch.no_grad():
        for name, p in model.named_dense():
            data = np.fromfile(os.path.join(folder, f"{name}.f32"), dtype=np.float32)
            p.copy_(torch.from_numpy(data).view(p.shape))
        for t, table in enumerate(model.tables):
            data = np.fromfile(os.path.join(folder, f"table.{t}.f32"), dtype=np.float32)
            table.weight.copy_(torch.from_numpy(data).view(table.weight.shape))


def train_step(model, opt, loss_fn, batch):
    dense, idx, off, labels = batch
    probs = model(dense, idx, off)
    loss = loss_fn(probs, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    s, y = scores[order], labels[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    neg = len(y) - pos
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["speed", "auc"])
    ap.add_argument("folder")
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    with open(os.path.join(args.folder, "meta.json")) as f:
        meta = json.load(f)
    torch.manual_seed(meta.get("seed", 0))
    model = build(meta)
    opt = torch.optim.SGD(model.parameters(), lr=meta["learningRate"])
    loss_fn = nn.BCELoss(reduction="mean")
    if args.mode == "speed":
        train = list(batches(load_split(os.path.join(args.folder, "train"), meta, meta["trainRows"]), meta["batchSize"]))
        for b in train[: args.warmup]:
            train_step(model, opt, loss_fn, b)
        timed = train[args.warmup :]
        start = time.perf_counter()
        for b in timed:
            train_step(model, opt, loss_fn, b)
        seconds = time.perf_counter() - start
        samples = sum(len(b[3]) for b in timed)
        print(json.dumps({"engine": "pytorch", "samples": samples, "seconds": seconds, "samplesPerSecond": samples / seconds,
                          "torch": torch.__version__, "threads": torch.get_num_threads()}))
    else:
        load_init(model, os.path.join(args.folder, "init"))
        for b in batches(load_split(os.path.join(args.folder, "train"), meta, meta["trainRows"]), meta["batchSize"]):
            train_step(model, opt, loss_fn, b)
        test = load_split(os.path.join(args.folder, "test"), meta, meta["testRows"])
        with torch.no_grad():
            scores = np.concatenate([model(d, i, o).numpy() for d, i, o, _ in batches(test, 4096)])
        print(json.dumps({"engine": "pytorch", "auc": auc(scores.astype(np.float64), test[2]), "rows": len(test[2])}))


if __name__ == "__main__":
    main()
