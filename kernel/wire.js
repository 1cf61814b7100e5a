/*
 * The Jupyter wire protocol (messaging spec 5.3) over ZeroMQ: the five sockets of a connection file,
 * HMAC-SHA256 signing and checking, and message framing. Knows nothing about what messages mean
 * (kernel/kernel.js does).
 *
 * Frames of a message: [routing ids..., "<IDS|MSG>", signature, header, parent_header, metadata,
 * content, buffers...]; the signature is HMAC(key, header + parent_header + metadata + content).
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const zmq = require('zeromq');

const DELIM = Buffer.from('<IDS|MSG>');
// The kernel's own diagnostics go to the real stderr (the terminal that started Jupyter), never to a cell.
const realStderrWrite = process.stderr.write.bind(process.stderr);
function warn(text) {
  realStderrWrite(`alignmix kernel: ${text}\n`);
}
const PROTOCOL_VERSION = '5.3';

class Connection {
  /** @param {string} connectionFile path of the JSON connection file Jupyter wrote */
  constructor(connectionFile) {
    let info;
    try {
      info = JSON.parse(fs.readFileSync(connectionFile, 'utf-8'));
    } catch (e) {
      throw new Error(`alignmix kernel: cannot read connection file ${connectionFile}: ${e.message}`);
    }
    for (const key of ['transport', 'ip', 'shell_port', 'iopub_port', 'control_port', 'stdin_port', 'hb_port']) {
      if (info[key] === undefined) throw new Error(`alignmix kernel: connection file ${connectionFile} has no "${key}"`);
    }
    this.info = info;
    this.key = info.key || '';
    this.scheme = (info.signature_scheme || 'hmac-sha256').replace(/^hmac-/, '');
    this.session = crypto.randomUUID();
    this.shell = new zmq.Router();
    this.control = new zmq.Router();
    this.stdin = new zmq.Router();
    this.iopub = new zmq.Publisher();
    this.hb = new zmq.Reply();
    // Sends are queued per socket: zeromq's send() rejects while a previous send is pending.
    this.queues = new Map();
  }

  async bind() {
    const { transport, ip } = this.info;
    const sep = transport === 'ipc' ? '-' : ':';
    const at = (port) => `${transport}://${ip}${sep}${port}`;
    await Promise.all([
      this.shell.bind(at(this.info.shell_port)),
      this.control.bind(at(this.info.control_port)),
      this.stdin.bind(at(this.info.stdin_port)),
      this.iopub.bind(at(this.info.iopub_port)),
      this.hb.bind(at(this.info.hb_port)),
    ]);
    (async () => {
      for await (const frames of this.hb) await this.hb.send(frames);
    })().catch(() => {});
  }

  sign(parts) {
    if (!this.key) return '';
    const h = crypto.createHmac(this.scheme, this.key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  /** Parse and verify a received multipart message; throws on a bad signature. */
  parse(frames) {
    const at = frames.findIndex((f) => DELIM.equals(f));
    if (at < 0) throw new Error('message without <IDS|MSG> delimiter');
    const [signature, header, parent, metadata, content] = frames.slice(at + 1, at + 6);
    const expected = this.sign([header, parent, metadata, content]);
    const given = signature.toString();
    if (this.key && (given.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected)))) {
      throw new Error('message with a bad HMAC signature');
    }
    return {
      idents: frames.slice(0, at),
      header: JSON.parse(header.toString()),
      parent_header: JSON.parse(parent.toString()),
      metadata: JSON.parse(metadata.toString()),
      content: JSON.parse(content.toString()),
      buffers: frames.slice(at + 6),
    };
  }

  /**
   * Send `msgType` on `socket` ('shell' | 'control' | 'stdin' | 'iopub'), parented to `parent` (a
   * received message, or null). Returns the header sent.
   */
  send(socket, msgType, content, parent, opts = {}) {
    const header = {
      msg_id: crypto.randomUUID(),
      session: this.session,
      username: 'kernel',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
    const parts = [header, parent ? parent.header : {}, opts.metadata || {}, content].map((x) => JSON.stringify(x));
    const idents = socket === 'iopub' ? [Buffer.from(opts.topic || msgType)] : parent ? parent.idents : [];
    const buffers = (opts.buffers || []).map((b) => (Buffer.isBuffer(b) ? b : Buffer.from(ArrayBuffer.isView(b) ? b.buffer : b)));
    const frames = [...idents, DELIM, this.sign(parts), ...parts, ...buffers];
    const sock = this[socket];
    const previous = this.queues.get(socket) || Promise.resolve();
    const next = previous.then(() => sock.send(frames)).catch((e) => warn(`${socket} send failed: ${e.message}`));
    this.queues.set(socket, next);
    return header;
  }

  /** Received messages of a Router socket, parsed; bad ones are reported and skipped. */
  async *messages(socket) {
    for await (const frames of this[socket]) {
      try {
        yield this.parse(frames);
      } catch (e) {
        warn(`dropped a ${socket} message: ${e.message}`);
      }
    }
  }

  close() {
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.close();
  }
}

module.exports = { Connection, PROTOCOL_VERSION, warn };
