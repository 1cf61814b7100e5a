/*
 * Input history kept across kernel sessions, as IPython's history database keeps it: every kernel
 * process is a new session (numbered 1, 2, ... in order of start), each executed cell a line
 * (its execution count), and history requests see the cells of earlier sessions too.
 *
 * Storage: one JSON object per line, `{"session", "line", "input", "output"}`, appended when a
 * cell finishes, in `alignmix-history.jsonl` under Jupyter's data directory (JUPYTER_DATA_DIR,
 * which `environment/jupyter.js` sets to `<repo>/.jupyter/data`; without it `<repo>/.jupyter/data`
 * too), or the file ALIGNMIX_HISTORY_FILE names. A line that is not valid JSON (a write cut short)
 * is skipped. Two kernels started at the same moment can get the same session number (the number
 * is the largest one in the file plus one, read at start).
 */
'use strict';
const fs = require('fs');
const path = require('path');

/** A result's text kept in the file is cut to this many characters: enough for a value, not a whole tensor dump. */
const OUTPUT_CHARS = 2000;

/** The history file for a repository (see the header). */
function historyFile(rootDir, env = process.env) {
  if (env.ALIGNMIX_HISTORY_FILE) return path.resolve(env.ALIGNMIX_HISTORY_FILE);
  return path.join(env.JUPYTER_DATA_DIR || path.join(rootDir, '.jupyter', 'data'), 'alignmix-history.jsonl');
}

class History {
  /** Reads the earlier sessions of `file` (missing: none) and starts the next session. */
  constructor(file) {
    this.file = file;
    /** [{ session, line, input, output }] of all sessions, oldest first; output is text/plain or null. */
    this.entries = readEntries(file);
    this.session = this.entries.reduce((max, e) => Math.max(max, e.session), 0) + 1;
  }

  /** A cell of this session starts: visible to history requests from now on. */
  add(line, input) {
    const entry = { session: this.session, line, input, output: null };
    this.entries.push(entry);
    return entry;
  }

  /** The cell of `entry` finished (`entry.output`: its result's text/plain, or null): written to the file. */
  finish(entry) {
    if (entry.output != null) entry.output = String(entry.output).slice(0, OUTPUT_CHARS);
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.appendFileSync(this.file, JSON.stringify(entry) + '\n');
    } catch (e) {
      if (!this.warned) process.stderr.write(`alignmix kernel: cannot write the history file ${this.file}: ${e.message}\n`);
      this.warned = true;
    }
  }

  /**
   * history_request (messaging spec): `tail` — the last n cells of all sessions; `range` — lines
   * [start, stop) of one session (0: this one, negative: that many sessions back, positive: that
   * session; stop null or 0: to its end); `search` — cells whose input matches the glob `pattern`
   * (`*`, `?`), all sessions, the last n, with `unique` the last of equal inputs. Rows are
   * [session, line, input] or, with `output`, [session, line, [input, output]].
   */
  query({ hist_access_type: type, output = false, n, session = 0, start = 0, stop, pattern = '*', unique = false }) {
    const row = (e) => [e.session, e.line, output ? [e.input, e.output] : e.input];
    const last = (list) => (n ? list.slice(-n) : list);
    if (type === 'tail') return last(this.entries).map(row);
    if (type === 'range') {
      const wanted = session > 0 ? session : this.session + session;
      return this.entries.filter((e) => e.session === wanted && e.line >= start && (stop == null || stop === 0 || e.line < stop)).map(row);
    }
    if (type === 'search') {
      const glob = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]') + '$');
      let hits = this.entries.filter((e) => glob.test(e.input));
      if (unique) {
        const seen = new Set();
        hits = hits.reverse().filter((e) => !seen.has(e.input) && seen.add(e.input)).reverse();
      }
      return last(hits).map(row);
    }
    return [];
  }
}

function readEntries(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf-8');
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw new Error(`alignmix kernel: cannot read the history file ${file}: ${e.message}`);
  }
  const entries = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e && Number.isInteger(e.session) && Number.isInteger(e.line) && typeof e.input === 'string') entries.push({ session: e.session, line: e.line, input: e.input, output: e.output ?? null });
  }
  return entries;
}

module.exports = { History, historyFile };
