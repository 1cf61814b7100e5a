#!/usr/bin/env node
/*
 * The Jupyter side of the alignmix notebook lab: a project-local Python virtual environment with
 * pinned JupyterLab / nbconvert / nbclient, and the environment that points Jupyter at the
 * repository's own kernel (kernel/) and keeps Jupyter's config, data and runtime files inside the
 * repository (.jupyter/), so nothing is written to ~/.jupyter or ~/.local/share/jupyter.
 *
 * Commands:
 *   node environment/jupyter.js setup            create .venv, install requirements-jupyter.txt and
 *                                                requirements-tensorboard.txt (npm run
 *                                                setup:jupyter; a second run is a no-op)
 *   node environment/jupyter.js lab [args...]    trust notebooks/*.ipynb, start JupyterLab on the
 *                                                alignmix kernel (npm run lab; args go to jupyter)
 *   node environment/jupyter.js python FILE [args...]
 *                                                run a Python tool with the venv's Python and the
 *                                                project Jupyter environment (npm run test:notebooks)
 *   node environment/jupyter.js tensorboard [args...]
 *                                                TensorBoard on a runs folder (npm run tensorboard;
 *                                                default --logdir runs; args go to tensorboard)
 *
 * pip honours the user's own index settings (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS,
 * pip.conf): nothing here names an index. It runs with no retries and a short connection timeout,
 * so an unreachable index fails in seconds rather than minutes, and the error names the indexes
 * pip was using.
 *
 * Environment:
 *   ALIGNMIX_PYTHON       Python that creates the venv (default python3)
 *   ALIGNMIX_VENV         venv folder (default <repo>/.venv)
 *   ALIGNMIX_PIP_TIMEOUT  pip's connection timeout in seconds (default 15)
 */
'use strict';
const cp = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const REPO = path.resolve(__dirname, '..');
const REQUIREMENTS = ['requirements-jupyter.txt', 'requirements-tensorboard.txt'].map((f) => path.join(__dirname, f));
const VENV = path.resolve(process.env.ALIGNMIX_VENV || path.join(REPO, '.venv'));
const VENV_BIN = path.join(VENV, 'bin');
const VENV_PYTHON = path.join(VENV_BIN, 'python');
const STAMP = path.join(VENV, 'alignmix-requirements.sha256');
const JUPYTER_HOME = path.join(REPO, '.jupyter');
const LOG = (msg) => console.log(`[alignmix jupyter] ${msg}`);

/** Environment for every Jupyter process of the project (the kernel inherits it). */
function jupyterEnv(base = process.env) {
  const jupyterPath = [path.join(REPO, 'kernel'), base.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  return {
    ...base,
    PATH: [VENV_BIN, base.PATH].filter(Boolean).join(path.delimiter),
    VIRTUAL_ENV: VENV,
    JUPYTER_PATH: jupyterPath,
    JUPYTER_CONFIG_DIR: path.join(JUPYTER_HOME, 'config'),
    JUPYTER_DATA_DIR: path.join(JUPYTER_HOME, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(JUPYTER_HOME, 'runtime'),
    // All three folders are set above; this only silences jupyter_core's migration warning.
    JUPYTER_PLATFORM_DIRS: '1',
  };
}

function run(cmd, args, options = {}) {
  const r = cp.spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

function capture(cmd, args) {
  const r = cp.spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The requirements files plus the base Python's version: what the installed venv must match. */
function wantedStamp(basePython) {
  const version = capture(basePython, ['-c', 'import sys; print(sys.version)']);
  if (version === null) {
    throw new Error(`cannot run '${basePython}' (set ALIGNMIX_PYTHON to a Python 3.9+ with the venv module)`);
  }
  const hash = crypto.createHash('sha256');
  for (const file of REQUIREMENTS) hash.update(fs.readFileSync(file));
  return hash.update(version).digest('hex');
}

/** Indexes pip will use, for the error message: from pip's config (env vars included) or its default. */
function pipIndexes() {
  const listed = capture(VENV_PYTHON, ['-m', 'pip', 'config', 'list']) || '';
  const found = { 'index-url': [], 'extra-index-url': [], 'find-links': [] };
  for (const line of listed.split('\n')) {
    const m = /^(\S+)\.(index-url|extra-index-url|find-links)='(.*)'$/.exec(line.trim());
    if (m) found[m[2]].push(`${m[3]} (${m[1].startsWith(':env:') ? `PIP_${m[2].toUpperCase().replace(/-/g, '_')}` : `pip config ${m[1]}`})`);
  }
  if (!found['index-url'].length) found['index-url'].push("https://pypi.org/simple (pip's default)");
  return Object.entries(found)
    .filter(([, v]) => v.length)
    .map(([k, v]) => `${k}: ${v.join(', ')}`)
    .join('; ');
}

function setup() {
  const basePython = process.env.ALIGNMIX_PYTHON || 'python3';
  const stamp = wantedStamp(basePython);
  if (fs.existsSync(VENV_PYTHON) && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === stamp) {
    LOG(`${path.relative(REPO, VENV) || VENV} is up to date with ${REQUIREMENTS.map((f) => path.relative(REPO, f)).join(', ')}`);
    return 0;
  }
  const started = Date.now();
  if (!fs.existsSync(VENV_PYTHON)) {
    LOG(`creating ${VENV} with ${basePython}`);
    if (run(basePython, ['-m', 'venv', VENV]) !== 0) {
      console.error(`[alignmix jupyter] '${basePython} -m venv' failed (on Debian: apt-get install python3-venv)`);
      return 1;
    }
  }
  fs.rmSync(STAMP, { force: true });
  const timeout = process.env.ALIGNMIX_PIP_TIMEOUT || '15';
  LOG(`installing ${REQUIREMENTS.map((f) => path.relative(REPO, f)).join(', ')} (pip --retries 0 --timeout ${timeout}; your pip index settings apply)`);
  const pipInstall = () => run(VENV_PYTHON, [
    '-m', 'pip', 'install', '--quiet', '--quiet', '--no-input', '--disable-pip-version-check',
    '--retries', '0', '--timeout', timeout, '--only-binary', ':all:', ...REQUIREMENTS.flatMap((f) => ['-r', f]),
  ]);
  let status = pipInstall();
  if (status !== 0) {
    // Once more: a single failed connection ends a no-retry pip (seen once in CI, 2026-12-03, with
    // the same command succeeding right after); an index that is really unreachable fails again.
    LOG('pip failed; trying once more');
    status = pipInstall();
  }
  if (status !== 0) {
    console.error(
      `[alignmix jupyter] pip could not install the pinned Python packages (Jupyter, TensorBoard).\n` +
        `  pip used ${pipIndexes()}.\n` +
        `  Point pip at an index or mirror that holds these versions (PIP_INDEX_URL, or index-url in pip.conf) and run \`npm run setup:jupyter\` again.`,
    );
    return 1;
  }
  fs.writeFileSync(STAMP, `${stamp}\n`);
  LOG(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${capture(path.join(VENV_BIN, 'jupyter'), ['lab', '--version']) ?? '?'} (JupyterLab)`);
  return 0;
}

function requireVenv() {
  if (!fs.existsSync(STAMP)) {
    console.error(`[alignmix jupyter] no Jupyter environment at ${VENV}: run \`npm run setup:jupyter\` first`);
    process.exit(1);
  }
}

/** Run a child with the project Jupyter env; forward Ctrl-C / SIGTERM and exit with its status. */
function spawnForwarding(cmd, args) {
  const child = cp.spawn(cmd, args, { stdio: 'inherit', env: jupyterEnv(), cwd: REPO });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function lab(args) {
  requireVenv();
  const env = jupyterEnv();
  const notebooks = fs
    .readdirSync(path.join(REPO, 'notebooks'))
    .filter((f) => f.endsWith('.ipynb'))
    .map((f) => path.join('notebooks', f));
  // Saved outputs (plots are scripts) render only in trusted notebooks; the notebooks are the
  // project's own, and JupyterLab signs what it saves with the key in .jupyter/data.
  if (notebooks.length && run(path.join(VENV_BIN, 'jupyter'), ['trust', ...notebooks], { env, cwd: REPO }) !== 0) return 1;
  spawnForwarding(path.join(VENV_BIN, 'jupyter'), [
    'lab',
    `--ServerApp.root_dir=${REPO}`,
    '--LabApp.default_url=/lab/tree/notebooks',
    '--MappingKernelManager.default_kernel_name=alignmix',
    // Containers and CI machines often run as root, where JupyterLab refuses to start without it.
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ...args,
  ]);
  return null;
}

function python(args) {
  requireVenv();
  if (!args.length) {
    console.error('usage: node environment/jupyter.js python FILE [args...]');
    return 2;
  }
  spawnForwarding(VENV_PYTHON, args);
  return null;
}

/** TensorBoard from the venv on `args` (default: the runs folder, where run directories go). */
function tensorboard(args) {
  requireVenv();
  const logdir = args.some((a) => a === '--logdir' || a.startsWith('--logdir=') || a === '--logdir_spec' || a.startsWith('--logdir_spec='));
  spawnForwarding(path.join(VENV_BIN, 'tensorboard'), [...(logdir ? [] : ['--logdir', path.join(REPO, 'runs')]), ...args]);
  return null;
}

function main() {
  const [command, ...rest] = process.argv.slice(2);
  const commands = { setup: () => setup(), lab: () => lab(rest), python: () => python(rest), tensorboard: () => tensorboard(rest) };
  if (!commands[command]) {
    console.error(`usage: node environment/jupyter.js ${Object.keys(commands).join('|')} [args...]`);
    process.exit(2);
  }
  try {
    const status = commands[command]();
    if (status !== null) process.exit(status);
  } catch (e) {
    console.error(`[alignmix jupyter] ${e.message}`);
    process.exit(1);
  }
}

main();
