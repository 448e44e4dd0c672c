#!/usr/bin/python3
"""facebookresearch/tbsm's PyTorch TBSM trained on a hotline dataset of sequences (preprocess --format taobao-tbsm).

The reference of bench/tbsm.ts. It builds the authors' TBSM_Net (on facebookresearch/dlrm's DLRM_Net, the fast path
that runs every history event of a batch in one tower pass) from checkouts of both repositories and trains it as
tbsm_pytorch.py's iterate_train_data does: torch.optim.Adagrad, BCE loss, mini-batches of the shuffled training part,
one seed (their --no-select-seed). It times the step as the authors' ms/it does (forward, loss, zero_grad, backward,
optimizer step; the batches are formed before), then scores the test part. Prints one JSON line.

  /usr/bin/python3 bench/tbsm_reference.py DATASET --tbsm TBSM_DIR --dlrm DLRM_DIR [--threads N] [--epochs 1]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools", "golden"))
from make_tbsm_golden import hotline_adagrad_step, load_authors_code, widths  # noqa: E402
from torch_dlrm import auc  # noqa: E402  (this folder's: rank-based, ties sharing their mean rank)


def read_dataset(folder):
    """The train and test parts of a hotline dataset of sequences as the authors' arrays: X_cat [3, N, E], X_int
    [1, N, E] (the dense feature of each event), y [N]."""
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    rows, events = manifest["rows"], manifest["sequence"]["events"]
    labels = np.fromfile(os.path.join(folder, manifest["files"]["labels"]["path"]), dtype=np.float32)
    dense = np.fromfile(os.path.join(folder, manifest["files"]["dense"]["path"]), dtype=np.float32).reshape(rows, events)
    ids = np.stack([
        np.fromfile(os.path.join(folder, manifest["bags"][name]["ids"]["path"]), dtype=np.int32).reshape(rows, events)
        for name in manifest["categoricalNames"]
    ])
    parts = manifest["parts"]
    train_end, test_start = parts["train"], parts["train"] + parts["validation"]
    part = lambda a, b: (ids[:, a:b], dense[None, a:b], labels[a:b])
    return manifest, part(0, train_end), part(test_start, rows)


def batch_of(x_cat, x_int, y, rows):
    """One mini-batch as the authors' collate_wrapper_tbsm hands it over: per event, the dense column, and per event
    and table the ids with offsets 0..n-1."""
    cat = torch.tensor(x_cat[:, rows, :], dtype=torch.long)
    dense = torch.tensor(x_int[0, rows, :], dtype=torch.float32)
    n, events = dense.shape
    offsets = torch.arange(n)
    x = [dense[:, j].reshape(-1, 1) for j in range(events)]
    lS_o = [[offsets for _ in range(cat.shape[0])] for _ in range(events)]
    lS_i = [[cat[t, :, j] for t in range(cat.shape[0])] for j in range(events)]
    return x, lS_o, lS_i, torch.tensor(y[rows], dtype=torch.float32).view(-1, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dataset")
    p.add_argument("--tbsm", required=True)
    p.add_argument("--dlrm", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--mini-batch-size", type=int, default=256)
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--arch-sparse-feature-size", type=int, default=16)
    p.add_argument("--arch-mlp-bot", default="1-16")
    p.add_argument("--arch-mlp-top", default="15-15")
    p.add_argument("--tsl-mlp", default="15-15")
    p.add_argument("--arch-mlp", default="60-1")
    p.add_argument("--tsl-inner", default="def")
    p.add_argument("--tsl-mechanism", default="mlp")
    p.add_argument("--tsl-num-heads", type=int, default=1)
    p.add_argument("--num-batches", type=int, default=0, help="batches per epoch (0: all)")
    p.add_argument("--optimizer", choices=["torch-adagrad", "rowwise-adagrad"], default="torch-adagrad",
                   help="the authors' torch.optim.Adagrad, or hotline's rule (one state per embedding row)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tbsm_pytorch = load_authors_code(args.tbsm, args.dlrm)
    manifest, (tr_cat, tr_int, tr_y), (te_cat, te_int, te_y) = read_dataset(args.dataset)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rows, dim = manifest["cardinalities"], args.arch_sparse_feature_size
    features = len(rows) + 1
    ln_top = widths(f"{features * (features - 1) // 2 + dim}-{args.arch_mlp_top}")
    model = tbsm_pytorch.TBSM_Net(
        dim, np.array(rows), widths(args.arch_mlp_bot), ln_top, "dot", False, widths(f"{2 * ln_top[-1]}-{args.arch_mlp}"),
        widths(args.tsl_mlp), "dot", args.tsl_mechanism, manifest["sequence"]["tsLength"], -1, "tsl", False, True,
        args.tsl_inner, args.tsl_num_heads,
    )
    if args.optimizer == "torch-adagrad":
        optimizer = torch.optim.Adagrad(model.parameters(), lr=args.learning_rate)
        step = optimizer.step
    else:
        states = {}
        step = lambda: hotline_adagrad_step(model, states, args.learning_rate, 1e-10)  # noqa: E731
    loss_fn = torch.nn.BCELoss(reduction="mean")
    n, size = len(tr_y), args.mini_batch_size
    step_seconds, samples = [], 0
    for epoch in range(args.epochs):
        order = np.random.permutation(n)
        batches = range(0, n, size)
        if args.num_batches > 0:
            batches = batches[: args.num_batches]
        for start in batches:
            x, lS_o, lS_i, target = batch_of(tr_cat, tr_int, tr_y, order[start:start + size])
            t0 = time.perf_counter()
            loss = loss_fn(model(x, lS_o, lS_i), target)
            model.zero_grad()
            loss.backward()
            step()
            step_seconds.append(time.perf_counter() - t0)
            samples += len(target)
    steady = step_seconds[min(10, len(step_seconds) // 5):]
    timed = sum(steady)
    timed_samples = samples - size * (len(step_seconds) - len(steady))
    scores = []
    with torch.no_grad():
        for start in range(0, len(te_y), 25000):
            x, lS_o, lS_i, _ = batch_of(te_cat, te_int, te_y, np.arange(start, min(start + 25000, len(te_y))))
            scores.append(model(x, lS_o, lS_i).reshape(-1).numpy())
    print(json.dumps({
        "samplesPerSecond": timed_samples / timed, "stepMs": 1000 * float(np.median(steady)), "trainSamples": samples,
        "testRows": int(len(te_y)), "testAuc": auc(np.concatenate(scores), te_y), "torch": torch.__version__,
        "threads": args.threads, "optimizer": args.optimizer,
    }))


if __name__ == "__main__":
    main()
