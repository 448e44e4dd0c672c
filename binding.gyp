{
  "variables": {
    "openblas%": "0",
    "uring%": "0",
    "march%": "native"
  },
  "targets": [
    {
      "target_name": "hotline",
      "sources": ["native/addon.cc", "native/pool.cc", "native/gemm.cc", "native/embedding.cc", "native/dense.cc", "native/sequence.cc", "native/lanes.cc", "native/criteo.cc", "native/scan.cc", "native/block-io.cc"],
      "cflags_cc": ["-std=c++20", "-O3", "-march=<(march)", "-fno-math-errno", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags!": ["-fno-exceptions"],
      "conditions": [
        ["uring==1", {
          "defines": ["HOTLINE_URING"],
          "libraries": ["-luring"]
        }],
        ["openblas==1", {
          "defines": ["HOTLINE_OPENBLAS"],
          "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread"],
          "libraries": ["-L/usr/lib/x86_64-linux-gnu/openblas-pthread", "-lopenblas"]
        }]
      ]
    }
  ]
}
