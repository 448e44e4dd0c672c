#!/usr/bin/env bash
# Makes bench/gpu/kit/, what check.sh unpacks on a GPU machine that has only its driver (no Node, no npm, no
# network): this machine's Node binary (xz), the run-time node modules (tsx with its esbuild's linux-x64 binary, webgpu
# with its linux-x64 Dawn) and the built native addon (one tar.xz), and Debian's Vulkan loader and OpenBLAS with its
# Fortran run time (.debs, unpacked there into a folder, never over /). Run after npm ci and npm run build:native, on
# x86-64 Linux with apt's lists current (apt-get update). The kit is ignored by git; the device tool carries it.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -m)" = x86_64 ] || { echo "make-kit.sh: the GPU machine is x86-64; make the kit on one" >&2; exit 2; }
[ -f build/Release/hotline.node ] || { echo "make-kit.sh: build the native addon first (npm run build:native)" >&2; exit 2; }
kit=bench/gpu/kit
rm -rf "$kit" && mkdir -p "$kit/debs"
xz -T0 -6 -c "$(command -v node)" >"$kit/node.xz"
tar -c --exclude='node_modules/webgpu/dist/darwin*' --exclude='node_modules/webgpu/dist/win32*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  node_modules/tsx node_modules/esbuild node_modules/@esbuild/linux-x64 \
  node_modules/webgpu build/Release/hotline.node | xz -T0 -6 >"$kit/modules.tar.xz"
(cd "$kit/debs" && apt-get download libvulkan1 libopenblas0-pthread libgfortran5 libquadmath0 >/dev/null)
# What the addon and the modules were made from: check.sh refuses a kit made from other sources.
bench/gpu/kit-stamp.sh >"$kit/stamp"
du -sh "$kit"/* "$kit"/debs/*
