#!/usr/bin/python3
"""GFLOP/s of numpy's OpenBLAS sgemm on shapes given as JSON on argv[1]:
[{"name", "transA", "transB", "M", "N", "K"}], best of `reps` calls each; prints a JSON list."""
import json
import sys
import time

import numpy as np

shapes = json.loads(sys.argv[1])
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
rng = np.random.default_rng(0)
out = []
for s in shapes:
    M, N, K = s["M"], s["N"], s["K"]
    A = rng.random((K, M) if s["transA"] else (M, K), dtype=np.float32)
    B = rng.random((N, K) if s["transB"] else (K, N), dtype=np.float32)
    a = A.T if s["transA"] else A
    b = B.T if s["transB"] else B
    C = np.empty((M, N), dtype=np.float32)
    for _ in range(3):
        np.matmul(a, b, out=C)
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        np.matmul(a, b, out=C)
        best = min(best, time.perf_counter() - t)
    out.append(2 * M * N * K / best / 1e9)
print(json.dumps(out))
