#!/usr/bin/env bash
# The fingerprint of what bench/gpu/kit is made from: the native sources, the addon's build file and the module lock.
cd "$(dirname "$0")/../.."
cat native/* binding.gyp package-lock.json | sha256sum | cut -d' ' -f1
