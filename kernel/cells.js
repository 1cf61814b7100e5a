/*
 * Running notebook cells: TypeScript in, a value or a Jupyter error out.
 *
 * tslab does the TypeScript work (its converter: a watch-mode compiler over the cell plus the
 * declarations of earlier cells, top-level await, last-expression capture, lib/ imports compiled
 * on the fly; its executor: the vm run, the `exports` object that holds top-level variables, the
 * `require` that loads compiled lib/ modules). This module wraps both and adds what tslab lacks:
 *
 * - the compiler: the project's TypeScript with tsconfig.json's checks and inline source maps, so
 *   runtime errors can name cell lines (kernel/typescript.js).
 * - declarations of a failed cell: tslab keeps them only when the cell succeeds; here a cell that
 *   compiled keeps its declarations even when it throws or is interrupted (variables set before
 *   the failure keep their values, those after it are undefined).
 * - shorthand properties naming an earlier cell's variable (`{ plan }`) are expanded to
 *   `{ plan: plan }` before compiling (tslab rewrites earlier-cell names to `exports.plan`, which
 *   a shorthand property cannot hold, and emits a reference to a missing local).
 * - every cell runs in an AsyncLocalStorage context: timers it starts and promises it creates
 *   remember their cell, so an interrupt cancels that cell's pending timers (an awaited loop stops
 *   at its next await of a timer) and an async error is reported on the cell that caused it.
 * - errors as {ename, evalue, traceback}: stack frames of cell code are mapped through both
 *   source maps (CommonJS -> ES module -> TypeScript) to cell line:column with the source line;
 *   frames of the kernel, tslab and Node internals are dropped.
 */
'use strict';
const path = require('path');
const util = require('util');
const { AsyncLocalStorage, createHook } = require('async_hooks');
const { SourceMap } = require('module');
const { installTypeScript } = require('./typescript');

const CELL_FILE = /alignmix-cell-(\d+)/;
const ORIGIN = Symbol('alignmix.cell');
/**
 * Chained tensor ops (`x.reshape([4])`): tfjs-core declares them (kernel/typescript.js makes them
 * type-check) but registers them on Tensor.prototype only when this module runs, which its CommonJS
 * build cannot load (ES module files); the @tensorflow/tfjs bundle registers the same methods on
 * tfjs-core's Tensor class, so the kernel loads it once a cell has loaded tfjs-core.
 */
const CHAINED_OPS = '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

/** The inline source maps of a compiled cell or lib/ file, in the order they were appended. */
function inlineMaps(js) {
  const maps = [];
  for (const m of js.matchAll(/\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)/g)) {
    maps.push(new SourceMap(JSON.parse(Buffer.from(m[1], 'base64').toString())));
  }
  return maps;
}

class Cells {
  /**
   * @param {{rootDir: string, tslabDir: string, onLateError: (cell: object|null, err: unknown) => void}} opts
   */
  constructor({ rootDir, tslabDir, onLateError }) {
    this.ts = installTypeScript(tslabDir, rootDir).ts;
    const { createConverter, isCompleteCode } = require(path.join(tslabDir, 'dist', 'converter.js'));
    const { createExecutor } = require(path.join(tslabDir, 'dist', 'executor.js'));
    this.isCompleteCode = isCompleteCode;
    this.onLateError = onLateError;
    this.decls = '';
    this.lastConverted = null;
    this.compiled = new Map(); // cell id -> { maps, lines, count }
    /** Compiled lib/ files as the executor loads them: absolute .js path -> inline source maps. */
    this.compiledFiles = new Map();
    this.nextId = 1;
    this.current = null;
    this.als = new AsyncLocalStorage();
    this.interruptHandlers = new Set();
    // What tslab's executor reports through its console: the last expression's value (log) and
    // errors or diagnostics (error).
    this.report = { values: [], errors: [] };
    const self = this;
    const node = createConverter({ isJS: false, isBrowser: false });
    let browser = null;
    const converter = {
      convert(_prevDecl, src) {
        const out = node.convert(self.decls, self.expandShorthand(src));
        self.lastConverted = out;
        if (out.output && !out.hasToplevelAwait) out.hasToplevelAwait = self.hasTopLevelAwait(src);

        if (out.output) {
          const id = self.nextId++;
          out.output += `\n//# sourceURL=alignmix-cell-${id}`;
          self.compiled.set(id, { maps: inlineMaps(out.output), jsLines: out.output.split('\n').length, lines: src.split('\n'), count: self.current ? self.current.count : null });
        }
        for (const side of out.sideOutputs || []) self.compiledFiles.set(side.path, inlineMaps(side.data));
        return out;
      },
      inspect: (_prevDecl, src, pos) => node.inspect(self.decls, src, pos),
      complete: (_prevDecl, src, pos) => node.complete(self.decls, src, pos),
      addModule: (...args) => node.addModule(...args),
      close: () => node.close(),
    };
    this.converter = converter;
    const convs = {
      node: converter,
      get browser() {
        browser = browser || createConverter({ isJS: false, isBrowser: true });
        return browser;
      },
      close() {
        node.close();
        if (browser) browser.close();
      },
    };
    this.executor = createExecutor(rootDir, convs, {
      log: (value) => this.report.values.push(value),
      error: (...args) => this.report.errors.push(args),
    });
    this.registerChainedOpsAfterRequire(rootDir);
    this.trackTimers();
    this.trackAsyncErrors();
  }

  /** See CHAINED_OPS: after each require of a cell, load @tensorflow/tfjs if tfjs-core is loaded. */
  registerChainedOpsAfterRequire(rootDir) {
    const resolve = (id) => {
      try {
        return require.resolve(id, { paths: [rootDir] });
      } catch {
        return null;
      }
    };
    const core = resolve('@tensorflow/tfjs-core');
    const union = resolve('@tensorflow/tfjs');
    if (!core || !union) return;
    const slot = globalThis.__tslab__;
    let done = false;
    slot.require = new Proxy(slot.require, {
      apply(target, thisArg, args) {
        const mod = Reflect.apply(target, thisArg, args);
        if (!done && require.cache[core]) {
          done = true;
          require(union);
        }
        return mod;
      },
    });
  }

  /** The cell whose code is running now (its own context), else the cell being executed. */
  context() {
    return this.als.getStore() || this.current;
  }

  /**
   * Run one cell. Resolves to { value, hasValue } or { error: {ename, evalue, traceback} }.
   * `cell` carries what the kernel needs back in callbacks (parent message, execution count).
   */
  async run(code, cell) {
    const store = Object.assign(cell, { running: true, cancelled: false, softInterrupted: false, failure: undefined, timers: new Map() });
    this.current = store;
    this.report = { values: [], errors: [] };
    this.lastConverted = null;
    let ok;
    try {
      ok = await this.als.run(store, () => this.executor.execute(code));
      // Let rejections of promises the cell dropped surface while it still counts as running.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      store.running = false;
      if (this.current === store) this.current = null;
    }
    const converted = this.lastConverted;
    if (converted && !(converted.diagnostics && converted.diagnostics.length)) {
      // The cell compiled: keep its declarations whether it ran to the end or not.
      this.decls = converted.declOutput || '';
    }
    if (store.failure !== undefined) return { error: this.describeError(store.failure) };
    if (!ok) {
      const diagnostics = this.report.errors.filter((args) => typeof args[0] === 'string' && args[0].startsWith('%s%d:%d'));
      if (diagnostics.length) return { error: this.describeDiagnostics(diagnostics, code) };
      const thrown = this.report.errors.length ? this.report.errors[0][0] : new Error('the cell failed');
      if (store.cancelled || (thrown && thrown.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED')) {
        store.cancelled = true;
        this.cancelTimers(store);
        return { error: interruptedError() };
      }
      return { error: this.describeError(thrown) };
    }
    if (store.cancelled) return { error: interruptedError() };
    return this.report.values.length ? { value: this.report.values[0], hasValue: true } : { hasValue: false };
  }

  /**
   * Interrupt the running cell. With interrupt listeners registered (kernel API `onInterrupt`,
   * e.g. a training run that stops between batches and checkpoints), the first interrupt only
   * calls them and the cell ends on its own; otherwise, or on a second interrupt, the cell stops
   * hard: its pending timers are cancelled (a loop awaiting one never resumes) and its await is
   * abandoned.
   */
  interrupt() {
    const store = this.current;
    if (!store) return false;
    if (this.interruptHandlers.size && !store.softInterrupted) {
      store.softInterrupted = true;
      for (const handler of [...this.interruptHandlers]) {
        try {
          handler();
        } catch (e) {
          this.asyncError(store, e);
        }
      }
      return true;
    }
    store.cancelled = true;
    this.cancelTimers(store);
    this.executor.interrupt();
    return true;
  }

  cancelTimers(store) {
    for (const [timer, clear] of store.timers) clear(timer);
    store.timers.clear();
  }

  /** Timers remember the cell that started them; a cancelled cell's callbacks never run. */
  trackTimers() {
    const self = this;
    const wrap = (set, clear, repeat) =>
      function (callback, ...args) {
        const store = self.als.getStore();
        if (!store || typeof callback !== 'function') return set(callback, ...args);
        let timer;
        const guarded = function (...cbArgs) {
          if (!repeat) store.timers.delete(timer);
          if (store.cancelled) return;
          try {
            return callback.apply(this, cbArgs);
          } catch (e) {
            self.asyncError(store, e);
          }
        };
        timer = set(guarded, ...args);
        store.timers.set(timer, clear);
        return timer;
      };
    globalThis.setTimeout = Object.assign(wrap(setTimeout, clearTimeout, false), setTimeout);
    globalThis.setInterval = wrap(setInterval, clearInterval, true);
    globalThis.setImmediate = Object.assign(wrap(setImmediate, clearImmediate, false), setImmediate);
  }

  trackAsyncErrors() {
    const als = this.als;
    createHook({
      init(_id, type, _trigger, resource) {
        if (type === 'PROMISE') {
          const store = als.getStore();
          if (store) resource[ORIGIN] = store;
        }
      },
    }).enable();
    process.on('unhandledRejection', (reason, promise) => this.asyncError(promise[ORIGIN] || als.getStore() || this.current, reason));
    process.on('uncaughtException', (err) => this.asyncError(als.getStore() || this.current, err));
  }

  /** An error thrown outside the cell's own flow (timer, dropped promise, event handler). */
  asyncError(store, err) {
    if (store && store.running) {
      if (store.failure === undefined) store.failure = err;
      this.executor.interrupt(); // ends the cell's await; run() reports store.failure
      return;
    }
    if (store && store.cancelled) return;
    this.onLateError(store, err);
  }

  /** {ename, evalue, traceback} of a thrown value, traceback in cell coordinates. */
  describeError(err) {
    if (!(err instanceof Error) && !(err && typeof err === 'object' && 'stack' in err)) {
      return { ename: err === null ? 'null' : typeof err === 'object' ? (err.constructor && err.constructor.name) || 'Object' : typeof err, evalue: util.inspect(err), traceback: [`Uncaught ${util.inspect(err)}`] };
    }
    const ename = err.name || (err.constructor && err.constructor.name) || 'Error';
    const evalue = String(err.message);
    const traceback = [`${ename}: ${evalue}`];
    let shownSource = false;
    const stack = typeof err.stack === 'string' ? err.stack.split('\n') : [];
    for (const line of stack) {
      const frame = /^\s+at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
      if (!frame) continue;
      const [, fn, file, l, c] = frame;
      const cell = CELL_FILE.exec(file);
      if (cell) {
        const where = this.cellPosition(Number(cell[1]), Number(l), Number(c));
        if (!where || where.source === undefined) continue; // the executor's wrapper, not cell code
        traceback.push(`    at ${fn ? fn + ' ' : ''}(${where.label}, line ${where.line}:${where.column})`);
        if (!shownSource && where.source !== undefined) {
          traceback.push(`  ${String(where.line).padStart(4)} | ${where.source}`, `       | ${' '.repeat(Math.max(0, where.column - 1))}^`);
          shownSource = true;
        }
        continue;
      }
      if (isInternalFrame(file)) continue;
      const source = this.compiledFiles.has(file) ? throughMaps(this.compiledFiles.get(file), Number(l), Number(c)) : null;
      const [shownFile, shownLine, shownColumn] = source ? [file.replace(/\.js$/, '.ts'), source.line, source.column] : [file, l, c];
      traceback.push(`    at ${fn ? fn + ' ' : ''}(${path.isAbsolute(shownFile) ? path.relative(process.cwd(), shownFile) : shownFile}:${shownLine}:${shownColumn})`);
    }
    return { ename, evalue, traceback };
  }

  /** Line and column in the cell's TypeScript for a position in its compiled JavaScript. */
  cellPosition(id, line, column) {
    const cell = this.compiled.get(id);
    // Past the compiled code is the executor's `})(__tslab__.exports, ...)` call, not cell code.
    if (!cell || line > cell.jsLines) return null;
    // The executor prepends its function wrapper to line 1, which holds only CommonJS boilerplate.
    const where = throughMaps(cell.maps, line, column);
    if (!where) return null;
    // The converter compiles "export {};\n" + cell, so TypeScript line n + 1 (1-based) is cell line n.
    const cellLine = where.line - 1;
    return { label: cell.count != null ? `In[${cell.count}]` : 'cell', line: cellLine, column: where.column, source: cell.lines[cellLine - 1] };
  }

  /** TypeScript diagnostics as one Jupyter error: each at cell line:column with its source line. */
  describeDiagnostics(diagnostics, code) {
    const lines = code.split('\n');
    const traceback = [];
    const messages = [];
    let previous = '';
    for (const [, file, line, column, message] of diagnostics) {
      const text = typeof message === 'string' ? message : util.inspect(message);
      messages.push(`${file}${line}:${column} - ${text}`);
      // tslab splits a message chain into diagnostics at one position: the details follow indented.
      const at = `${file}${line}:${column}`;
      if (at === previous) {
        traceback.push(`    ${text}`);
        continue;
      }
      previous = at;
      traceback.push(`${file ? file.trim() + ' ' : 'cell '}line ${line}:${column} - ${text}`);
      if (!file && lines[line - 1] !== undefined) {
        traceback.push(`  ${String(line).padStart(4)} | ${lines[line - 1]}`, `       | ${' '.repeat(Math.max(0, column - 1))}^`);
      }
    }
    const count = traceback.filter((l) => !l.startsWith(' ')).length;
    return { ename: 'TypeScriptError', evalue: messages.join('\n'), traceback: [`TypeScriptError: ${count} error${count > 1 ? 's' : ''}`, ...traceback] };
  }

  /**
   * True when the cell awaits at top level. tslab detects this from a TypeScript diagnostic that
   * it misses for `await (expr)`; the executor then runs the cell in an async wrapper.
   */
  hasTopLevelAwait(src) {
    const ts = this.ts;
    const file = ts.createSourceFile('cell.ts', src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const visit = (node) => {
      if (ts.isFunctionLike(node) || ts.isClassLike(node)) return false;
      if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) return true;
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'await') return true;
      return Boolean(ts.forEachChild(node, visit));
    };
    return Boolean(ts.forEachChild(file, visit));
  }

  /** `{ name }` -> `{ name: name }` for names declared by earlier cells (see the header). */
  expandShorthand(src) {
    if (!src.includes('{') || !this.decls) return src;
    const ts = this.ts;
    const file = ts.createSourceFile('cell.ts', src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const edits = [];
    const visit = (node) => {
      if (ts.isShorthandPropertyAssignment(node)) {
        const name = node.name.text;
        if (new RegExp(`\\b${name}\\b`).test(this.decls)) edits.push({ at: node.name.getStart(file), text: `${name}: ` });
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
    let out = src;
    for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at);
    return out;
  }

  /** 'complete' | 'incomplete' (with indent) | 'invalid', from TypeScript's parser. */
  isComplete(code) {
    const res = this.isCompleteCode(code);
    if (!res.completed) return { status: 'incomplete', indent: res.indent };
    const ts = this.ts;
    const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    return file.parseDiagnostics && file.parseDiagnostics.length ? { status: 'invalid' } : { status: 'complete' };
  }

  complete(code, pos) {
    return this.executor.complete(code, pos);
  }

  inspect(code, pos) {
    return this.executor.inspect(code, pos);
  }

  close() {
    this.executor.close();
  }
}

/**
 * A position (1-based line and column) in code compiled by tslab's two passes, mapped to the
 * TypeScript source: through the CommonJS -> ES module map (appended last), then the ES module ->
 * TypeScript map (first). Null where either map has no entry.
 */
function throughMaps(maps, line, column) {
  if (maps.length < 2) return null;
  const toModule = maps[maps.length - 1].findEntry(line - 1, column - 1);
  if (toModule.originalLine === undefined) return null;
  const toTs = maps[0].findEntry(toModule.originalLine, toModule.originalColumn);
  if (toTs.originalLine === undefined) return null;
  return { line: toTs.originalLine + 1, column: toTs.originalColumn + 1 };
}

function interruptedError() {
  return { ename: 'KeyboardInterrupt', evalue: 'the cell was interrupted; variables it set before the interrupt keep their values', traceback: ['KeyboardInterrupt: the cell was interrupted'] };
}

function isInternalFrame(file) {
  return file.startsWith('node:') || file.startsWith('evalmachine') || file.includes(`${path.sep}node_modules${path.sep}tslab${path.sep}`) || file.startsWith(__dirname + path.sep) || file === 'internal' || file.startsWith('internal/');
}

module.exports = { Cells };
