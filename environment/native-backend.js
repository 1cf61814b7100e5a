#!/usr/bin/env node
/*
 * Provision the native TensorFlow backend (@tensorflow/tfjs-node) for alignmix.
 *
 * Run by `npm install` (postinstall) and by hand (`npm run setup:native`). It never fails the
 * install: when no route works it says why and exits 0, and alignmix then runs on the fastest
 * pure-npm backend (see lib/backend.ts).
 *
 * Routes, in order:
 *   1. already installed: the addon in node_modules loads            -> nothing to do
 *   2. cache: a build for this tfjs-node/Node-API/TF combination exists in the cache -> link it in
 *   3. download: tfjs-node's own installer (libtensorflow 2.9.1 from storage.googleapis.com),
 *      tried only when that host resolves (a user's machine with internet)
 *   4. wheel: build the addon from source against the TensorFlow C API inside the
 *      `tensorflow-cpu` Python wheel, fetched with the user's own pip configuration
 *      (PIP_INDEX_URL, pip.conf); pip is run with no retries so an unreachable index fails fast.
 *
 * Why route 4 exists: tfjs-node's installer downloads libtensorflow from a Google host that
 * offline / mirrored machines cannot reach. The wheel ships libtensorflow_cc.so.2 and
 * libtensorflow_framework.so.2, which export every TF_/TFE_ function the addon calls.
 *
 * Also builds build/native/stderr_gate.node (environment/stderr-gate/stderr_gate.c, one C file
 * compiled with the system compiler against Node's headers, about a second; rebuilt when the source,
 * the flags or Node's N-API version change): lib/backend.ts diverts the process's stderr through it
 * while TensorFlow's libraries load, so their start-up log lines stay out (kernel/README.md, "Quiet
 * TensorFlow"). Without a compiler or Node's headers that step is skipped and the lines show.
 *
 * Environment:
 *   ALIGNMIX_NATIVE=0            skip (use wasm/cpu)
 *   ALIGNMIX_NATIVE_FORCE=1      rebuild even if the addon already loads (ignores the cache)
 *   ALIGNMIX_TF_WHEEL=name==ver  wheel to build against (default tensorflow-cpu==2.21.0;
 *                                `tensorflow==2.21.0` gives the CUDA-enabled library on Linux)
 *   ALIGNMIX_CACHE=dir           cache root (default ~/.cache/alignmix)
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const cp = require('child_process');
const dns = require('dns');

const DEFAULT_WHEEL = 'tensorflow-cpu==2.21.0';
const REPO = path.resolve(__dirname, '..');
const GATE_SOURCE = path.join(__dirname, 'stderr-gate', 'stderr_gate.c');
const GATE_ADDON = path.join(REPO, 'build', 'native', 'stderr_gate.node');
const LOG = (msg) => console.log(`[alignmix native] ${msg}`);

function tfjsNodeDir() {
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    return null;
  }
}

/**
 * The addon file tfjs-node loads: lib/napi-v<N>/tfjs_binding.node, N being the highest N-API
 * version that both the package lists and this Node supports (node-pre-gyp's rule).
 */
function addonPath(pkgDir) {
  const { binary } = require(path.join(pkgDir, 'package.json'));
  const napi = Math.max(...binary.napi_versions.filter((v) => v <= Number(process.versions.napi)));
  return path.join(pkgDir, binary.module_path.replace('{napi_build_version}', String(napi)), 'tfjs_binding.node');
}

/** Load check in a child process: a broken addon must not take this process down. */
function nativeLoads(pkgDir) {
  const probe = [
    "process.env.TF_CPP_MIN_LOG_LEVEL='2';",
    "const tf=require('@tensorflow/tfjs-node');",
    "const x=tf.ones([1,4,4,2]), w=tf.ones([3,3,2,1]);",
    "const y=tf.conv2d(x,w,1,'same').sum().dataSync()[0];",
    "if(tf.getBackend()!=='tensorflow'||y!==200) throw new Error('bad result '+y);",
    "console.log(tf.backend().binding.TF_Version);",
  ].join('');
  const r = cp.spawnSync(process.execPath, ['-e', probe], {
    cwd: path.resolve(pkgDir, '..', '..', '..'), encoding: 'utf8', timeout: 120000,
  });
  return r.status === 0 ? { ok: true, tfVersion: r.stdout.trim() } : { ok: false, err: (r.stderr || '').trim().split('\n').slice(-3).join(' | ') };
}

function cacheDir(key) {
  const root = process.env.ALIGNMIX_CACHE || path.join(os.homedir(), '.cache', 'alignmix');
  return path.join(root, 'native', key);
}

/** Put `src` at `dst` by hard link (no extra disk), falling back to a copy across filesystems. */
function linkOrCopy(src, dst) {
  fs.rmSync(dst, { force: true });
  try {
    fs.linkSync(src, dst);
  } catch {
    fs.copyFileSync(src, dst);
  }
}

const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];

function installFromCache(pkgDir, dir) {
  const depsLib = path.join(pkgDir, 'deps', 'lib');
  fs.mkdirSync(depsLib, { recursive: true });
  for (const lib of LIBS) linkOrCopy(path.join(dir, lib), path.join(depsLib, lib));
  const addon = addonPath(pkgDir);
  fs.mkdirSync(path.dirname(addon), { recursive: true });
  linkOrCopy(path.join(dir, 'tfjs_binding.node'), addon);
}

function cacheComplete(dir) {
  return ['tfjs_binding.node', ...LIBS, 'ok'].every((f) => fs.existsSync(path.join(dir, f)));
}

function hostResolves(host, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    dns.lookup(host, (err) => {
      clearTimeout(timer);
      resolve(!err);
    });
  });
}

function run(cmd, args, opts = {}) {
  const r = cp.spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stdout || ''}\n${r.stderr || ''}`.trim().split('\n').slice(-8).join('\n');
    throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} ... exited ${r.status}:\n${tail}`);
  }
  return r.stdout;
}

function findPython() {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3', 'python']) {
    if (!py) continue;
    const r = cp.spawnSync(py, ['-m', 'pip', '--version'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  throw new Error('no python with pip found (set PYTHON=/path/to/python3)');
}

/**
 * Fetch the wheel with the user's pip configuration. Wheels are platform-tagged; the C library
 * does not depend on the Python version, so if no wheel matches this Python we ask for the tags
 * of other CPython versions.
 */
function downloadWheel(spec, dest) {
  const py = findPython();
  const base = ['-m', 'pip', 'download', spec, '--no-deps', '--only-binary=:all:', '--retries', '0',
    '--timeout', '20', '--disable-pip-version-check', '-d', dest];
  const tagSets = [[], ...['311', '312', '310', '313'].map((v) => ['--python-version', v, '--platform',
    'manylinux_2_27_x86_64', '--platform', 'manylinux2014_x86_64', '--platform', 'manylinux_2_17_x86_64'])];
  let lastErr;
  for (const tags of tagSets) {
    try {
      run(py, [...base, ...tags], { timeout: 30 * 60 * 1000 });
      const whl = fs.readdirSync(dest).find((f) => f.endsWith('.whl'));
      if (whl) return path.join(dest, whl);
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(`pip could not fetch ${spec} (check PIP_INDEX_URL / pip.conf): ${lastErr && lastErr.message}`);
}

/** Extract the two libraries and the C API headers from the wheel (a zip) with Python's zipfile. */
function extractWheel(py, whl, dest) {
  const script = `
import sys, zipfile, os
whl, dest = sys.argv[1], sys.argv[2]
want = ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')
inc = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/ctstring',
       'tensorflow/include/tsl/platform/ctstring', 'tensorflow/include/xla/tsl/c/',
       'tensorflow/include/tensorflow/tsl/platform/ctstring', 'tensorflow/include/tensorflow/compiler/xla/tsl/c/')
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if n in want or n.startswith(inc)]
    missing = [w for w in want if w not in names]
    if missing: sys.exit('wheel lacks ' + ', '.join(missing))
    for n in names:
        if not n.endswith('/'): z.extract(n, dest)
`;
  run(py, ['-c', script, whl, dest]);
}

function buildFromWheel(pkgDir, spec, outDir) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-native-'));
  try {
    LOG(`fetching ${spec} with pip ...`);
    const whl = downloadWheel(spec, work);
    LOG(`extracting the TensorFlow C library from ${path.basename(whl)} ...`);
    const py = findPython();
    extractWheel(py, whl, work);
    fs.rmSync(whl);
    const tfDir = path.join(work, 'tensorflow');
    const libs = LIBS.map((l) => path.join(tfDir, l));
    // Debug symbols are a third of the library; they are not needed to run.
    if (cp.spawnSync('strip', ['--version']).status === 0) run('strip', ['--strip-unneeded', ...libs]);

    const deps = path.join(pkgDir, 'deps');
    fs.rmSync(deps, { recursive: true, force: true });
    fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
    fs.renameSync(path.join(tfDir, 'include'), path.join(deps, 'include'));
    for (const l of libs) fs.renameSync(l, path.join(deps, 'lib', path.basename(l)));
    // binding.gyp links -ltensorflow -ltensorflow_framework: give the linker those names.
    fs.symlinkSync('libtensorflow_cc.so.2', path.join(deps, 'lib', 'libtensorflow.so'));
    fs.symlinkSync('libtensorflow_framework.so.2', path.join(deps, 'lib', 'libtensorflow_framework.so'));

    LOG('compiling the addon (node-gyp) ...');
    const preGyp = require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', { paths: [pkgDir] });
    const args = [preGyp, 'install', '--build-from-source'];
    // Offline node-gyp needs this Node's own headers; without them it tries to download them.
    const nodeDir = nodeHeadersDir();
    if (nodeDir) args.push(`--nodedir=${nodeDir}`);
    run(process.execPath, args, { cwd: pkgDir, timeout: 20 * 60 * 1000 });

    // Keep only what runs: the addon and the two libraries (RUNPATH $ORIGIN/../../deps/lib).
    fs.rmSync(path.join(deps, 'include'), { recursive: true, force: true });
    fs.rmSync(path.join(deps, 'lib', 'libtensorflow.so'), { force: true });
    fs.rmSync(path.join(deps, 'lib', 'libtensorflow_framework.so'), { force: true });
    fs.rmSync(path.join(pkgDir, 'build'), { recursive: true, force: true });

    fs.mkdirSync(outDir, { recursive: true });
    for (const lib of LIBS) linkOrCopy(path.join(deps, 'lib', lib), path.join(outDir, lib));
    linkOrCopy(addonPath(pkgDir), path.join(outDir, 'tfjs_binding.node'));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Node's own headers (node_api.h), as node-gyp needs them offline: <prefix>/include/node. */
function nodeHeadersDir() {
  const nodeDir = process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h')) ? nodeDir : null;
}

/**
 * Compile the stderr gate (see the header) into build/native/ unless the build there was made from
 * the same source, flags and N-API version (a .stamp file next to it holds their hash).
 */
function buildStderrGate() {
  const nodeDir = nodeHeadersDir();
  if (!nodeDir) {
    LOG("stderr gate skipped: Node's headers (include/node/node_api.h) not found; TensorFlow's start-up lines will show");
    return;
  }
  const cc = process.env.CC || 'cc';
  const flags = ['-O2', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=stderr_gate', `-I${path.join(nodeDir, 'include', 'node')}`, ...(os.platform() === 'darwin' ? ['-undefined', 'dynamic_lookup'] : [])];
  const stamp = require('crypto').createHash('sha256').update(fs.readFileSync(GATE_SOURCE)).update(JSON.stringify([cc, flags, process.versions.napi])).digest('hex');
  const stampFile = `${GATE_ADDON}.stamp`;
  if (fs.existsSync(GATE_ADDON) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf-8') === stamp) return;
  fs.mkdirSync(path.dirname(GATE_ADDON), { recursive: true });
  // A new file renamed into place: never rewrite an existing (possibly hard-linked) addon in place.
  const fresh = `${GATE_ADDON}.${process.pid}.tmp`;
  const r = cp.spawnSync(cc, [...flags, GATE_SOURCE, '-o', fresh], { encoding: 'utf-8' });
  if (r.status !== 0) {
    fs.rmSync(fresh, { force: true });
    LOG(`stderr gate not built (${cc}: ${(r.error ? r.error.message : r.stderr).trim().split('\n')[0]}); TensorFlow's start-up lines will show`);
    return;
  }
  fs.renameSync(fresh, GATE_ADDON);
  fs.writeFileSync(stampFile, stamp);
  LOG(`stderr gate built: ${path.relative(REPO, GATE_ADDON)}`);
}

function tryDownloadRoute(pkgDir) {
  LOG('trying the standard tfjs-node download ...');
  run(process.execPath, [path.join(pkgDir, 'scripts', 'install.js')], { cwd: pkgDir, timeout: 15 * 60 * 1000 });
}

async function main() {
  if (process.env.ALIGNMIX_NATIVE === '0') {
    LOG('skipped (ALIGNMIX_NATIVE=0); alignmix will use a pure-npm backend.');
    return;
  }
  if (os.platform() !== 'linux' && os.platform() !== 'darwin') {
    LOG(`no wheel route for ${os.platform()}; use tfjs-node's own installer.`);
  }
  buildStderrGate();
  const pkgDir = tfjsNodeDir();
  if (!pkgDir) {
    LOG('@tensorflow/tfjs-node is not installed; alignmix will use a pure-npm backend.');
    return;
  }
  const force = process.env.ALIGNMIX_NATIVE_FORCE === '1';
  if (!force) {
    const now = nativeLoads(pkgDir);
    if (now.ok) {
      LOG(`native backend ready (TensorFlow ${now.tfVersion}).`);
      return;
    }
  }
  const tfjsVersion = require(path.join(pkgDir, 'package.json')).version;
  const spec = process.env.ALIGNMIX_TF_WHEEL || DEFAULT_WHEEL;
  const key = `tfjs-node-${tfjsVersion}-napi${process.versions.napi}-${os.arch()}-${spec.replace(/[^A-Za-z0-9.]+/g, '_')}`;
  const dir = cacheDir(key);
  const errors = [];

  if (!force && cacheComplete(dir)) {
    installFromCache(pkgDir, dir);
    const r = nativeLoads(pkgDir);
    if (r.ok) {
      LOG(`native backend ready from cache ${dir} (TensorFlow ${r.tfVersion}).`);
      return;
    }
    errors.push(`cached build did not load: ${r.err}`);
  }

  if (!process.env.ALIGNMIX_TF_WHEEL && (await hostResolves('storage.googleapis.com', 3000))) {
    try {
      tryDownloadRoute(pkgDir);
      const r = nativeLoads(pkgDir);
      if (r.ok) {
        LOG(`native backend ready via the standard download (TensorFlow ${r.tfVersion}).`);
        return;
      }
      errors.push(`standard download installed an addon that does not load: ${r.err}`);
    } catch (e) {
      errors.push(`standard download failed: ${e.message.split('\n')[0]}`);
    }
  } else if (!process.env.ALIGNMIX_TF_WHEEL) {
    errors.push('standard download skipped: storage.googleapis.com does not resolve');
  }

  try {
    const t0 = Date.now();
    fs.rmSync(dir, { recursive: true, force: true });
    buildFromWheel(pkgDir, spec, dir);
    const r = nativeLoads(pkgDir);
    if (!r.ok) throw new Error(`built addon does not load: ${r.err}`);
    fs.writeFileSync(path.join(dir, 'ok'), `${spec}\nTensorFlow ${r.tfVersion}\n`);
    LOG(`native backend built from ${spec} in ${((Date.now() - t0) / 1000).toFixed(0)} s `
      + `(TensorFlow ${r.tfVersion}); cached in ${dir}.`);
    return;
  } catch (e) {
    errors.push(`wheel build failed: ${e.message}`);
  }
  LOG('native backend NOT available; alignmix will fall back to wasm (or cpu). Reasons:');
  for (const e of errors) LOG(`  - ${e}`);
  LOG('Retry with `npm run setup:native` after fixing the cause.');
}

main().catch((e) => {
  LOG(`unexpected error, continuing without the native backend: ${e.stack || e}`);
}).finally(() => {
  process.exitCode = 0;
});
