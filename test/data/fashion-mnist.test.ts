import { strict as assert } from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { loadFashionMnist, stratifiedSplit } from '../../lib/data';
import type { Dataset, MemorySource, SubsetSource } from '../../lib/data';
import { parseClassFile } from '../../lib/data/fashion-mnist';

const indicesOf = (ds: Dataset) => Array.from((ds.source as SubsetSource).indices);
const perClassCounts = (ds: Dataset) => {
  const counts = new Array(ds.numClasses).fill(0);
  for (let i = 0; i < ds.size; i++) counts[ds.label(i)]++;
  return counts;
};

describe('data/fashion-mnist', () => {
  it('holds exactly the distinct, unambiguously labelled images of the package JSON, in file order', () => {
    // Reference: JSON.parse every class file; keep the first copy of each image, drop empty rows
    // and images filed under two classes.
    const dir = path.join(path.dirname(require.resolve('fashion-mnist/package.json')), 'src', 'clothes');
    const firstClass = new Map<string, number>();
    const ambiguous = new Set<string>();
    const order: { key: string; row: number[]; k: number }[] = [];
    let rows = 0;
    for (let k = 0; k < 10; k++) {
      const data: number[][] = JSON.parse(fs.readFileSync(path.join(dir, `${k}.json`), 'utf8')).data;
      rows += data.length;
      for (const row of data) {
        if (row.length === 0) continue;
        const key = row.join(',');
        const seen = firstClass.get(key);
        if (seen === undefined) {
          firstClass.set(key, k);
          order.push({ key, row, k });
        } else if (seen !== k) ambiguous.add(key);
      }
    }
    const expected = order.filter((e) => !ambiguous.has(e.key));
    assert.equal(rows, 70002);
    assert.equal(ambiguous.size, 1);
    assert.equal(expected.length, 69945);

    const { trainFull } = loadFashionMnist();
    const all = (trainFull.source as SubsetSource).base as MemorySource;
    assert.deepEqual(all.shape, [28, 28, 1]);
    assert.equal(all.labels.length, expected.length);
    expected.forEach(({ row, k }, n) => {
      if (all.labels[n] !== k) assert.fail(`image ${n}: label ${all.labels[n]} vs ${k}`);
      const got = all.pixels.subarray(n * 784, (n + 1) * 784);
      for (let i = 0; i < 784; i++) if (got[i] !== row[i]) assert.fail(`image ${n} pixel ${i}: ${got[i]} vs ${row[i]}`);
    });
  });

  it('parseClassFile rejects values outside 0..255, non-integers and short rows, naming the file', () => {
    const row = (v: string) => `[${Array(783).fill('0').join(',')},${v}]`;
    const ok = parseClassFile(Buffer.from(`{"data":[${row('255')},[],${row('7')}]}`), 'x.json');
    assert.equal(ok.count, 2);
    assert.equal(ok.skipped, 1);
    assert.equal(ok.rows[783], 255);
    assert.equal(ok.rows[784 + 783], 7);
    assert.throws(() => parseClassFile(Buffer.from(`{"data":[${row('256')}]}`), 'x.json'), /x\.json: row 0: value 256/);
    assert.throws(() => parseClassFile(Buffer.from(`{"data":[${row('1.5')}]}`), 'x.json'), /x\.json: unexpected '\.'/);
    assert.throws(() => parseClassFile(Buffer.from(`{"data":[[1,2,3]]}`), 'x.json'), /x\.json: row 0 has 3 values, expected 784/);
  });

  it('default split: 54,945 / 5,000 / 10,000, stratified, disjoint, covering, no image in two splits', () => {
    const { train, val, test, trainFull } = loadFashionMnist();
    assert.equal(test.size, 10000);
    assert.equal(val.size, 5000);
    assert.equal(train.size, 54945);
    assert.deepEqual(perClassCounts(test), new Array(10).fill(1000));
    assert.deepEqual(perClassCounts(val), new Array(10).fill(500));
    const all = (train.source as SubsetSource).base as MemorySource;
    const unique = Array.from({ length: 10 }, (_, k) => Array.from(all.labels).filter((y) => y === k).length);
    assert.deepEqual(perClassCounts(train), unique.map((n) => n - 1500));
    const union = [...indicesOf(train), ...indicesOf(val), ...indicesOf(test)];
    assert.equal(new Set(union).size, union.length, 'disjoint');
    assert.equal(union.length, all.labels.length, 'covering');
    assert.deepEqual(indicesOf(trainFull), [...indicesOf(train), ...indicesOf(val)].sort((a, b) => a - b));
    const digests = new Set<string>();
    for (let i = 0; i < all.labels.length; i++) digests.add(crypto.createHash('md5').update(all.pixels.subarray(i * 784, (i + 1) * 784)).digest('hex'));
    assert.equal(digests.size, all.labels.length, 'every stored image is distinct');
    assert.equal(train.classNames[9], 'Ankle boot');
  });

  it('deterministic across calls; another split seed gives another split', () => {
    const a = loadFashionMnist();
    const b = loadFashionMnist();
    assert.deepEqual(indicesOf(a.test), indicesOf(b.test));
    assert.deepEqual(indicesOf(a.val), indicesOf(b.val));
    const c = loadFashionMnist({ splitSeed: 1 });
    assert.notDeepEqual(indicesOf(a.test), indicesOf(c.test));
    assert.equal(c.test.size, 10000);
  });

  it('per-class caps give stratified, deterministic subsets of the full split', () => {
    const full = loadFashionMnist();
    const capped = loadFashionMnist({ perClass: { train: 30, val: 5, test: 10 } });
    assert.deepEqual(perClassCounts(capped.train), new Array(10).fill(30));
    assert.deepEqual(perClassCounts(capped.val), new Array(10).fill(5));
    assert.deepEqual(perClassCounts(capped.test), new Array(10).fill(10));
    for (const split of ['train', 'val', 'test'] as const) {
      const all = new Set(indicesOf(full[split]));
      assert.ok(indicesOf(capped[split]).every((i) => all.has(i)), `${split} cap is a subset of the full ${split}`);
    }
    assert.deepEqual(indicesOf(loadFashionMnist({ perClass: { train: 30, val: 5, test: 10 } }).train), indicesOf(capped.train));
    assert.throws(() => loadFashionMnist({ perClass: { train: -1 } }), /perClass\.train/);
    assert.throws(() => loadFashionMnist({ perclass: {} } as never), /unknown option 'perclass'/);
  });

  it('stratifiedSplit: exact per-class sizes, remainder part, nested caps, error when a class is too small', () => {
    const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0];
    const [a, b, rest] = stratifiedSplit(labels, 3, [1, 2, null], 4);
    const count = (part: number[], k: number) => part.filter((i) => labels[i] === k).length;
    for (let k = 0; k < 3; k++) {
      assert.equal(count(a, k), 1);
      assert.equal(count(b, k), 2);
    }
    assert.deepEqual([...a, ...b, ...rest].sort((x, y) => x - y), labels.map((_, i) => i));
    const [, capped] = stratifiedSplit(labels, 3, [1, 2, null], 4, [undefined, 1]);
    assert.ok(capped.every((i) => b.includes(i)) && capped.length === 3);
    assert.throws(() => stratifiedSplit(labels, 3, [3, 1], 0), /class 2 has 3 items, fewer than the 4/);
  });
});
