import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// kernel/history.js is plain CommonJS (the kernel runs without a compile step).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { History, historyFile } = require('../kernel/history');

type Row = [number, number, string | [string, string | null]];

/** Two kernel processes one after the other: the second is session 2 and sees session 1's cells. */
describe('kernel history across sessions (kernel/history.js)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-history-'));
    file = path.join(dir, 'data', 'alignmix-history.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function session(cells: [string, string | null][]) {
    const h = new History(file);
    cells.forEach(([input, output], i) => {
      const entry = h.add(i + 1, input);
      entry.output = output;
      h.finish(entry);
    });
    return h;
  }

  it('numbers sessions and answers tail, range and search over all of them', () => {
    session([['const a = 1;', null], ['a + 1', '2']]);
    const second = session([['a * 10', '10']]);
    assert.equal(second.session, 2);
    const third = new History(file);
    assert.equal(third.session, 3);
    assert.deepEqual(third.query({ hist_access_type: 'tail', n: 2 }), [[1, 2, 'a + 1'], [2, 1, 'a * 10']] as Row[]);
    assert.deepEqual(third.query({ hist_access_type: 'tail', n: 1, output: true }), [[2, 1, ['a * 10', '10']]] as Row[]);
    // range: an absolute session, and one relative to this session (-2: two sessions back).
    assert.deepEqual(third.query({ hist_access_type: 'range', session: 1, start: 2, stop: 3 }), [[1, 2, 'a + 1']] as Row[]);
    assert.deepEqual(third.query({ hist_access_type: 'range', session: -2, start: 1, stop: null }), [[1, 1, 'const a = 1;'], [1, 2, 'a + 1']] as Row[]);
    // range over this session sees a cell while it runs, before it is written.
    third.add(1, 'a - 1');
    assert.deepEqual(third.query({ hist_access_type: 'range', session: 0, start: 1 }), [[3, 1, 'a - 1']] as Row[]);
    assert.deepEqual(third.query({ hist_access_type: 'search', pattern: 'a ?*' }), [[1, 2, 'a + 1'], [2, 1, 'a * 10'], [3, 1, 'a - 1']] as Row[]);
  });

  it('search with unique keeps the last of equal inputs; n keeps the last n hits', () => {
    session([['x', null], ['y', null], ['x', null]]);
    const h = new History(file);
    assert.deepEqual(h.query({ hist_access_type: 'search', pattern: '*', unique: true }), [[1, 2, 'y'], [1, 3, 'x']] as Row[]);
    assert.deepEqual(h.query({ hist_access_type: 'search', pattern: 'x', n: 1 }), [[1, 3, 'x']] as Row[]);
  });

  it('skips a line cut short and keeps reading', () => {
    session([['first', null]]);
    fs.appendFileSync(file, '{"session": 1, "line": 2, "inp');
    fs.appendFileSync(file, '\n' + JSON.stringify({ session: 1, line: 3, input: 'third', output: null }) + '\n');
    const h = new History(file);
    assert.deepEqual(h.query({ hist_access_type: 'tail', n: 5 }), [[1, 1, 'first'], [1, 3, 'third']] as Row[]);
    assert.equal(h.session, 2);
  });

  it('lives under JUPYTER_DATA_DIR, or the repository .jupyter/data, unless ALIGNMIX_HISTORY_FILE names it', () => {
    assert.equal(historyFile('/repo', { JUPYTER_DATA_DIR: '/j/data' }), '/j/data/alignmix-history.jsonl');
    assert.equal(historyFile('/repo', {}), '/repo/.jupyter/data/alignmix-history.jsonl');
    assert.equal(historyFile('/repo', { ALIGNMIX_HISTORY_FILE: '/tmp/h.jsonl', JUPYTER_DATA_DIR: '/j' }), '/tmp/h.jsonl');
  });
});
