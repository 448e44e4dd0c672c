#!/usr/bin/python3
"""The reference approach to Criteo preprocessing, as dlrm's Kaggle path does it (Python/numpy): read the
TSV, build a dictionary per categorical column in a first pass, convert every value to its index in a
second, log(x + 1) the integer features, and save the arrays as an npz. Prints one JSON line with the time
and peak RSS. Used by bench/preprocess.ts on a slice of the same file hotline preprocesses.

  /usr/bin/python3 bench/reference_preprocess.py INPUT.tsv OUT.npz [MAX_ROWS]
"""
import json
import resource
import sys
import time

import numpy as np


def main():
    path, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    started = time.perf_counter()
    labels, dense, cats = [], [], []
    with open(path) as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                break
            fields = line.rstrip("\n").split("\t")
            labels.append(int(fields[0]))
            dense.append([int(v) if v else 0 for v in fields[1:14]])
            cats.append(fields[14:40])
    read = time.perf_counter() - started
    dictionaries = [{} for _ in range(26)]
    for row in cats:  # pass 1: per-column dictionaries
        for j, v in enumerate(row):
            d = dictionaries[j]
            if v not in d:
                d[v] = len(d)
    ids = np.array([[dictionaries[j][v] for j, v in enumerate(row)] for row in cats], dtype=np.int32)  # pass 2
    x = np.log(np.maximum(np.array(dense, dtype=np.float32), 0) + 1)
    np.savez(out, X_int=x, X_cat=ids, y=np.array(labels, dtype=np.int32), counts=np.array([len(d) for d in dictionaries]))
    seconds = time.perf_counter() - started
    with open(path, "rb") as f:
        nbytes = sum(len(l) for _, l in zip(range(len(labels)), f))
    print(json.dumps({"rows": len(labels), "bytes": nbytes, "seconds": seconds, "readSeconds": read,
                      "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
