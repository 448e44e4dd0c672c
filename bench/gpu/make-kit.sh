#!/usr/bin/env bash
# Makes bench/gpu/kit/, what check.sh unpacks on a GPU machine that has only its driver (no Node, no npm, no
# network): this machine's Node binary (xz); the run-time node modules (tsx with its esbuild's linux-x64 binary,
# webgpu with its linux-x64 Dawn) and the native addon built for x86-64-v3 (one tar.xz); Debian's Vulkan loader and
# OpenBLAS with its Fortran run time (.debs, unpacked there into a folder, never over /). Run after npm ci, on
# x86-64 Linux with apt's lists current (apt-get update). The kit is ignored by git; the device tool carries it.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -m)" = x86_64 ] || { echo "make-kit.sh: the GPU machine is x86-64; make the kit on one" >&2; exit 2; }
kit=bench/gpu/kit
rm -rf "$kit" && mkdir -p "$kit/debs"
xz -T0 -6 -c "$(command -v node)" >"$kit/node.xz"
# The addon for any x86-64 server of the last decade (AVX2, FMA): the GPU machine's processor is not this one.
portable=$(mktemp -d)
cp -r native binding.gyp scripts package.json "$portable/"
(cd "$portable" && HOTLINE_MARCH=x86-64-v3 npm run --silent build:native >/dev/null)
mkdir -p "$portable/out/build/Release" && cp "$portable/build/Release/hotline.node" "$portable/out/build/Release/"
tar -c --exclude='node_modules/webgpu/dist/darwin*' --exclude='node_modules/webgpu/dist/win32*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  node_modules/tsx node_modules/esbuild node_modules/@esbuild/linux-x64 \
  node_modules/webgpu -C "$portable/out" build/Release/hotline.node | xz -T0 -6 >"$kit/modules.tar.xz"
rm -rf "$portable"
(cd "$kit/debs" && apt-get download libvulkan1 libopenblas0-pthread libgfortran5 libquadmath0 >/dev/null)
# What the addon and the modules were made from: check.sh refuses a kit made from other sources.
bench/gpu/kit-stamp.sh >"$kit/stamp"
du -sh "$kit"/* "$kit"/debs/*
