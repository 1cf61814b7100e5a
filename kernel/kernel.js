/*
 * The alignmix Jupyter kernel: the message loop (messaging protocol 5.3) over kernel/wire.js, cells
 * run by kernel/cells.js, values rendered by kernel/mime.js, and the in-process API of
 * lib/display/kernel-api.ts installed on globalThis[Symbol.for('alignmix.kernel')].
 *
 * Shell requests are handled one at a time in arrival order (an execute that awaits holds the
 * queue, as in ipykernel); control requests (interrupt, shutdown, kernel_info) are answered at
 * once. Every request is bracketed by status busy / idle on iopub.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { Connection, PROTOCOL_VERSION, warn } = require('./wire');
const { Cells } = require('./cells');
const { mimeBundle } = require('./mime');
const { History, historyFile } = require('./history');

const KERNEL_API_KEY = Symbol.for('alignmix.kernel');
/** Quiet time after the last kernel_info reply before the compiler is built (see dispatch). */
const WARM_DELAY_MS = 2000;

class Kernel {
  constructor({ connectionFile, rootDir, tslabDir }) {
    this.rootDir = rootDir;
    this.tslabDir = tslabDir;
    this.conn = new Connection(connectionFile);
    this.executionCount = 0;
    /** Cells of this and earlier kernel sessions (kernel/history.js). */
    this.history = new History(historyFile(rootDir));
    this.comms = new Map();
    this.commTargets = new Map();
    /** registerRenderer entries: name -> value => MIME bundle | null. */
    this.renderers = new Map();
    this.lastParent = null;
    /** Execute requests that arrived up to this arrival number are aborted (see execute()). */
    this.abortUpTo = 0;
    this.arrived = 0;
    this.pendingInput = null;
    this.cells = null;
  }

  async start() {
    await this.conn.bind();
    this.captureStreams();
    process.on('SIGINT', () => this.cells && this.cells.interrupt());
    this.loop('control', (msg) => this.dispatch('control', msg));
    let queue = Promise.resolve();
    this.loop('shell', (msg) => {
      const seq = ++this.arrived;
      queue = queue.then(() => (msg.header.msg_type === 'execute_request' && seq <= this.abortUpTo ? this.abort(msg) : this.dispatch('shell', msg)));
    });
    this.loop('stdin', (msg) => {
      if (msg.header.msg_type === 'input_reply' && this.pendingInput) {
        const { resolve } = this.pendingInput;
        this.pendingInput = null;
        resolve(String(msg.content.value));
      }
    });
  }

  loop(socket, handle) {
    (async () => {
      for await (const msg of this.conn.messages(socket)) handle(msg);
    })().catch((e) => warn(`${socket} loop ended: ${e.message}`));
  }

  /**
   * The cell runner, created on first need or after the start-up handshake: building tslab's
   * compiler takes seconds, and clients wait for kernel_info replies before anything else.
   */
  ensureCells() {
    if (!this.cells) {
      this.cells = new Cells({ rootDir: this.rootDir, tslabDir: this.tslabDir, onLateError: (cell, err) => this.lateError(cell, err) });
      this.installApi();
    }
    return this.cells;
  }

  async dispatch(socket, msg) {
    const type = msg.header.msg_type;
    this.status('busy', msg);
    try {
      if (!['kernel_info_request', 'shutdown_request', 'history_request', 'comm_info_request', 'interrupt_request'].includes(type)) this.ensureCells();
      switch (type) {
        case 'kernel_info_request':
          this.reply(socket, msg, 'kernel_info_reply', this.kernelInfo());
          // Build the compiler once the client's start-up handshake is over: jupyter_client repeats
          // kernel_info until iopub is connected, and a repeat must not wait for the compiler.
          clearTimeout(this.warmTimer);
          this.warmTimer = setTimeout(() => this.ensureCells(), WARM_DELAY_MS);
          return undefined;
        case 'execute_request':
          return await this.execute(msg);
        case 'is_complete_request':
          return this.reply(socket, msg, 'is_complete_reply', this.cells.isComplete(msg.content.code));
        case 'complete_request':
          return this.reply(socket, msg, 'complete_reply', this.complete(msg.content));
        case 'inspect_request':
          return this.reply(socket, msg, 'inspect_reply', this.inspect(msg.content));
        case 'history_request':
          return this.reply(socket, msg, 'history_reply', { status: 'ok', history: this.history.query(msg.content) });
        case 'comm_info_request':
          return this.reply(socket, msg, 'comm_info_reply', { status: 'ok', comms: this.commInfo(msg.content.target_name) });
        case 'comm_open':
          return this.commOpen(msg);
        case 'comm_msg':
          return this.commMessage(msg);
        case 'comm_close':
          return this.commClose(msg);
        case 'interrupt_request':
          if (this.cells) this.cells.interrupt();
          return this.reply(socket, msg, 'interrupt_reply', { status: 'ok' });
        case 'shutdown_request':
          this.reply(socket, msg, 'shutdown_reply', { status: 'ok', restart: Boolean(msg.content.restart) });
          setTimeout(() => this.shutdown(), 50);
          return undefined;
        default:
          warn(`unsupported request ${type}`);
          return undefined;
      }
    } catch (e) {
      warn(`${type} failed: ${e && e.stack}`);
      if (type.endsWith('_request')) this.reply(socket, msg, type.replace(/_request$/, '_reply'), { status: 'error', ename: e.name || 'Error', evalue: String(e.message), traceback: [] });
      return undefined;
    } finally {
      this.status('idle', msg);
    }
  }

  reply(socket, parent, type, content) {
    this.conn.send(socket, type, content, parent);
  }

  status(state, parent) {
    this.conn.send('iopub', 'status', { execution_state: state }, parent);
  }

  kernelInfo() {
    // The project's TypeScript, which compiles cells (kernel/typescript.js); read without loading it.
    const tsVersion = JSON.parse(fs.readFileSync(require.resolve('typescript/package.json', { paths: [this.rootDir] }), 'utf-8')).version;
    const tslabVersion = JSON.parse(fs.readFileSync(path.join(this.tslabDir, 'package.json'), 'utf-8')).version;
    const own = JSON.parse(fs.readFileSync(path.join(this.rootDir, 'package.json'), 'utf-8')).version;
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'alignmix',
      implementation_version: own,
      language_info: {
        name: 'typescript',
        version: tsVersion,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        pygments_lexer: 'typescript',
        codemirror_mode: { name: 'javascript', typescript: true, mode: 'typescript' },
      },
      banner: `alignmix kernel ${own}: TypeScript ${tsVersion} (through tslab ${tslabVersion}'s converter), Node.js ${process.version}`,
      help_links: [],
      debugger: false,
    };
  }

  // ---------------------------------------------------------------------------------- execute

  async execute(msg) {
    const { code, silent = false, store_history = true } = msg.content;
    const storeHistory = store_history && !silent;
    if (storeHistory) this.executionCount += 1;
    const count = this.executionCount;
    if (!silent) this.conn.send('iopub', 'execute_input', { code, execution_count: count }, msg);
    const entry = storeHistory ? this.history.add(count, code) : null;
    const cell = { parent: msg, count, silent, payload: [] };
    this.lastParent = msg;
    try {
      return await this.runCell(msg, cell, entry);
    } finally {
      if (entry) this.history.finish(entry);
    }
  }

  /** Run the cell of execute request `msg`: its result or error on iopub, then the execute_reply; the result's text goes to the history `entry`. */
  async runCell(msg, cell, entry) {
    const { code, silent = false, stop_on_error = true } = msg.content;
    const count = cell.count;
    const result = await this.cells.run(code, cell);
    if (result.error) {
      if (!silent) this.conn.send('iopub', 'error', result.error, msg);
      // Execute requests that arrived while this one ran are aborted, as in ipykernel.
      if (stop_on_error) this.abortUpTo = this.arrived;
      return this.reply('shell', msg, 'execute_reply', { status: 'error', execution_count: count, ...result.error });
    }
    if (result.hasValue && !silent) {
      let data;
      try {
        data = mimeBundle(result.value, this.renderers);
      } catch (e) {
        const error = this.cells.describeError(e);
        this.conn.send('iopub', 'error', error, msg);
        return this.reply('shell', msg, 'execute_reply', { status: 'error', execution_count: count, ...error });
      }
      if (entry) entry.output = data['text/plain'];
      this.conn.send('iopub', 'execute_result', { execution_count: count, data, metadata: {} }, msg);
    }
    return this.reply('shell', msg, 'execute_reply', { status: 'ok', execution_count: count, payload: cell.payload, user_expressions: {} });
  }

  abort(msg) {
    this.status('busy', msg);
    this.reply('shell', msg, 'execute_reply', { status: 'aborted', execution_count: null });
    this.status('idle', msg);
  }

  /**
   * An error from async work of a cell that has finished: shown on that cell, labelled, and in the
   * cell running now, if any, as a stderr note (frontends show a finished cell's output only if
   * they still listen to it).
   */
  lateError(cell, err) {
    const error = this.cells.describeError(err);
    const label = cell && cell.count != null ? `In[${cell.count}]` : 'an earlier cell';
    const labelled = { ...error, evalue: `${error.evalue} [raised by async work of ${label} after that cell finished]` };
    labelled.traceback = [`${error.ename}: ${labelled.evalue}`, ...error.traceback.slice(1)];
    const target = cell ? cell.parent : this.lastParent;
    if (target) this.conn.send('iopub', 'error', labelled, target);
    const running = this.cells.current;
    if (running && running !== cell) this.stream(running.parent, 'stderr', `UncaughtAsyncError from ${label} (after it finished): ${error.ename}: ${error.evalue}\n`);
  }

  // ---------------------------------------------------------------------------------- output

  /** The request that output produced now belongs to. */
  outputParent() {
    const cell = this.cells && this.cells.context();
    if (cell && cell.running) return cell.parent;
    const running = this.cells && this.cells.current;
    return (running && running.parent) || (cell && cell.parent) || this.lastParent;
  }

  stream(parent, name, text) {
    if (parent) this.conn.send('iopub', 'stream', { name, text }, parent);
  }

  captureStreams() {
    for (const name of ['stdout', 'stderr']) {
      const real = process[name].write.bind(process[name]);
      process[name].write = (chunk, encoding, callback) => {
        const parent = this.outputParent();
        if (!parent) return real(chunk, encoding, callback);
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf-8');
        this.stream(parent, name, text);
        if (typeof encoding === 'function') encoding();
        else if (typeof callback === 'function') callback();
        return true;
      };
    }
  }

  display(bundle, opts = {}) {
    const parent = this.outputParent();
    if (!parent) return;
    const content = { data: bundle, metadata: opts.metadata || {}, transient: opts.displayId ? { display_id: opts.displayId } : {} };
    this.conn.send('iopub', opts.update ? 'update_display_data' : 'display_data', content, parent);
  }

  // ---------------------------------------------------------------------------------- comms

  newComm(id, targetName) {
    const comm = {
      id,
      targetName,
      closed: false,
      messageHandlers: [],
      closeHandlers: [],
      send: (data, opts = {}) => {
        if (comm.closed) throw new Error(`comm ${id} (${targetName}) is closed`);
        this.conn.send('iopub', 'comm_msg', { comm_id: id, data }, this.outputParent(), { metadata: opts.metadata, buffers: opts.buffers });
      },
      close: (data = {}) => {
        if (comm.closed) return;
        comm.closed = true;
        this.comms.delete(id);
        this.conn.send('iopub', 'comm_close', { comm_id: id, data }, this.outputParent());
      },
      onMessage: (handler) => void comm.messageHandlers.push(handler),
      onClose: (handler) => void comm.closeHandlers.push(handler),
    };
    this.comms.set(id, comm);
    return comm;
  }

  /** Run a comm handler as part of `msg`: its output and comm messages are parented to `msg`. */
  asRequest(msg, fn) {
    const cell = { parent: msg, count: null, running: true, cancelled: false, timers: new Map() };
    return this.cells.als.run(cell, () => {
      try {
        fn();
      } catch (e) {
        const error = this.cells.describeError(e);
        this.conn.send('iopub', 'error', error, msg);
      } finally {
        cell.running = false;
      }
    });
  }

  commOpen(msg) {
    const { comm_id: id, target_name: target, data = {} } = msg.content;
    const onOpen = this.commTargets.get(target);
    if (!onOpen) {
      // Unknown target: close the comm again, as the protocol asks.
      this.conn.send('iopub', 'comm_close', { comm_id: id, data: {} }, msg);
      return;
    }
    const comm = this.newComm(id, target);
    this.asRequest(msg, () => onOpen(comm, data, msg.buffers.map(toArrayBuffer)));
  }

  commMessage(msg) {
    const comm = this.comms.get(msg.content.comm_id);
    if (!comm) return;
    this.asRequest(msg, () => {
      for (const h of comm.messageHandlers) h(msg.content.data || {}, msg.buffers.map(toArrayBuffer));
    });
  }

  commClose(msg) {
    const comm = this.comms.get(msg.content.comm_id);
    if (!comm) return;
    comm.closed = true;
    this.comms.delete(comm.id);
    this.asRequest(msg, () => {
      for (const h of comm.closeHandlers) h(msg.content.data || {});
    });
  }

  commInfo(targetName) {
    const comms = {};
    for (const [id, comm] of this.comms) if (!targetName || comm.targetName === targetName) comms[id] = { target_name: comm.targetName };
    return comms;
  }

  // ---------------------------------------------------------------------------------- API

  installApi() {
    const kernel = this;
    const api = {
      openComm(targetName, data, opts = {}) {
        const comm = kernel.newComm(crypto.randomUUID().replace(/-/g, ''), targetName);
        kernel.conn.send('iopub', 'comm_open', { comm_id: comm.id, target_name: targetName, data }, kernel.outputParent(), { metadata: opts.metadata, buffers: opts.buffers });
        return comm;
      },
      registerRenderer(name, render) {
        kernel.renderers.set(name, render);
      },
      registerCommTarget(targetName, onOpen) {
        kernel.commTargets.set(targetName, onOpen);
      },
      display: (bundle, opts) => kernel.display(bundle, opts),
      clearOutput(wait = false) {
        const parent = kernel.outputParent();
        if (parent) kernel.conn.send('iopub', 'clear_output', { wait }, parent);
      },
      currentParentMsgId() {
        const parent = kernel.outputParent();
        return parent ? parent.header.msg_id : undefined;
      },
      onInterrupt(handler) {
        kernel.cells.interruptHandlers.add(handler);
        return () => void kernel.cells.interruptHandlers.delete(handler);
      },
      page(bundle) {
        const cell = kernel.cells.context();
        if (!cell || !cell.payload) throw new Error('page() works only while a cell runs');
        cell.payload.push({ source: 'page', data: bundle, start: 0 });
      },
      input(prompt = '', opts = {}) {
        const cell = kernel.cells.context();
        const parent = cell && cell.parent;
        if (!parent || !parent.content.allow_stdin) return Promise.reject(new Error('input(): this frontend does not accept input requests (allow_stdin is false)'));
        if (kernel.pendingInput) return Promise.reject(new Error('input(): another input request is pending'));
        return new Promise((resolve) => {
          kernel.pendingInput = { resolve };
          kernel.conn.send('stdin', 'input_request', { prompt, password: Boolean(opts.password) }, parent);
        });
      },
    };
    globalThis[KERNEL_API_KEY] = api;
    // tslab's own display API (`import * as tslab from "tslab"`) keeps working: it sends through here.
    require(path.join(this.tslabDir, 'dist', 'jupyter.js')).lastWriteDisplayData = (content, update) => {
      const parent = this.outputParent();
      if (parent) this.conn.send('iopub', update ? 'update_display_data' : 'display_data', content, parent);
    };
  }

  // ---------------------------------------------------------------------------------- completion, inspection

  complete({ code, cursor_pos: pos }) {
    const info = this.cells.complete(code, pos);
    return { status: 'ok', matches: info.candidates, cursor_start: info.start, cursor_end: info.end, metadata: {} };
  }

  inspect({ code, cursor_pos: pos }) {
    const info = this.cells.inspect(code, pos);
    if (!info) return { status: 'ok', found: false, data: {}, metadata: {} };
    const { printQuickInfo } = require(path.join(this.tslabDir, 'dist', 'inspect.js'));
    return { status: 'ok', found: true, data: { 'text/plain': printQuickInfo(info) }, metadata: {} };
  }

  shutdown() {
    try {
      if (this.cells) this.cells.close();
    } finally {
      this.conn.close();
      process.exit(0);
    }
  }
}

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

module.exports = { Kernel };
