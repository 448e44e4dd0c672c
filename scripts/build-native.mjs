// Builds the native kernels with node-gyp at install time. Links OpenBLAS when its development files are
// installed (libopenblas-dev); otherwise the addon uses its own GEMM. When no compiler works, hotline still
// runs on the plain TypeScript kernels, so a failed build warns instead of failing the install.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const header = '/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h';
const library = '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so';
const openblas = process.env.HOTLINE_OPENBLAS ?? (existsSync(header) && existsSync(library) ? '1' : '0');
// io_uring for the SSD tier's block reads when liburing's development files are installed (liburing-dev).
const uring = process.env.HOTLINE_URING ?? (existsSync('/usr/include/liburing.h') ? '1' : '0');
const strict = process.argv.includes('--strict');

try {
  // HOTLINE_MARCH: the instruction set to build for (default: this machine's; bench/gpu/make-kit.sh builds a portable one).
  execFileSync('node-gyp', ['rebuild', `--openblas=${openblas}`, `--uring=${uring}`, `--march=${process.env.HOTLINE_MARCH ?? 'native'}`], { stdio: 'inherit' });
  console.log(`hotline: native kernels built (${openblas === '1' ? 'OpenBLAS GEMM' : 'own GEMM'}${uring === '1' ? ', io_uring' : ''})`);
} catch (error) {
  const message = `hotline: native build failed (${error.message}); falling back to the TypeScript kernels`;
  if (strict) throw new Error(message);
  console.warn(message);
}
