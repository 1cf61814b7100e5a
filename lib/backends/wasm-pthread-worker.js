'use strict';
/*
 * Entry script of one wasm pthread (a Node worker_thread) for the threaded SIMD build of
 * @tensorflow/tfjs-backend-wasm; see ./wasm-threads.ts.
 *
 * The package ships Emscripten's pthread worker script only as a string (`wasmWorkerContents`) that
 * it turns into a blob: URL, which Node's Worker cannot load (ERR_WORKER_PATH). This file runs the
 * same script from disk. The string holds escaped newlines that a template literal turned into
 * real ones inside string literals, so they are escaped back first (the package does the same
 * before building its Blob). The script expects CommonJS `require` and `__filename` in scope.
 */
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');

// eslint-disable-next-line no-new-func
new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);
