#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU and its driver and nothing else (no Node, no npm, no network),
# unpacks bench/gpu/kit (made by make-kit.sh; README.md beside this file), lists the adapters, runs the golden and
# WebGPU tests on the GPU, then bench/gpu-policies.ts; writes bench/out/gpu.json and bench/out/gpu.txt (the table),
# copied to $OUT when it is set. Ends within 8 minutes: the benchmark starts no run after its deadline.
#
#   bench/gpu/check.sh            the full sizes (a real GPU)
#   bench/gpu/check.sh --tiny     tiny sizes: the dry run on a software adapter (Mesa's lavapipe)
set -uo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
step() { echo "[$(($(date +%s) - t0)) s] $*"; }
kit=bench/gpu/kit work=${TMPDIR:-/tmp}/hotline-gpu-kit
[ -f "$kit/node.xz" ] || { echo "check.sh: $kit is missing: make it with bench/gpu/make-kit.sh (bench/gpu/README.md)" >&2; exit 2; }
if [ "$(bench/gpu/kit-stamp.sh)" != "$(cat "$kit/stamp" 2>/dev/null)" ]; then
  echo "check.sh: $kit was made from other native sources or modules than this tree's: remake it (bench/gpu/make-kit.sh)" >&2
  exit 2
fi
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }

step "unpacking the kit"
rm -rf "$work" && mkdir -p "$work/bin" "$work/root"
unxz "$kit/node.xz" >"$work/bin/node" && chmod +x "$work/bin/node" || exit 3
unxz "$kit/modules.tar.xz" | tar -x || exit 3 # node_modules/ and build/ into the tree
for deb in "$kit"/debs/*.deb; do dpkg -x "$deb" "$work/root" || exit 3; done
lib=$work/root/usr/lib/x86_64-linux-gnu
export PATH="$work/bin:$PATH" LD_LIBRARY_PATH="$lib:$lib/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The NVIDIA driver's Vulkan ICD, where the loader would not find it by itself.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then export VK_DRIVER_FILES=$icd; fi
step "node $(node -v); the adapters:"
node bin/hotline.mjs devices

sizes=()
if [ "${1:-}" = --tiny ]; then
  sizes=(--rows 4000 --steps 8 --cpu-steps 4 --batches 128,256 --max-table-rows 3000 --hot-budget 1 --deadline 420)
  step "golden tests on the GPU (the WebGPU suite is left to CI at these sizes)"
  node --import tsx --test --test-reporter=dot test/golden.test.ts
else
  step "golden and WebGPU tests on the GPU"
  node --import tsx --test --test-reporter=dot test/golden.test.ts test/webgpu.test.ts
fi
tests=$?
step "bench/gpu-policies.ts ${sizes[*]}"
mkdir -p bench/out
node --expose-gc --import tsx bench/gpu-policies.ts "${sizes[@]}" 2>&1 | grep --line-buffered -v 'artificially reduced' | tee bench/out/gpu.txt
bench=${PIPESTATUS[0]}
[ -n "${OUT:-}" ] && cp bench/out/gpu.json bench/out/gpu.txt "$OUT/" 2>/dev/null
step "done: tests exit $tests, benchmark exit $bench"
exit $((tests != 0 || bench != 0))
