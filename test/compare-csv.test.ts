import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CompareRow, readCompareCsv, writeCompareCsv } from '../lib/cli/compare';

describe('compare CSV: readCompareCsv reads what writeCompareCsv wrote', () => {
  it('round-trips rows (numbers, a quoted path) and names the file on a bad header', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-csv-'));
    const row: CompareRow = {
      protocol: 'fashion-mnist', method: 'alignmixup-flat', seed: 2, epochs: 2, testAccuracyAtBestVal: 0.8143, bestValAccuracy: 0.815,
      bestValEpoch: 2, bestTestAccuracy: 0.8143, bestTestEpoch: 2, medianLastNTestAccuracy: 0.7941, lastN: 2, finalTestAccuracy: 0.8143,
      trainSeconds: 244.575, runDir: '/tmp/a,"b"',
    };
    const file = path.join(dir, 'x.csv');
    writeCompareCsv(file, [row, { ...row, seed: 3 }]);
    const back = readCompareCsv(file);
    assert.equal(back.length, 2);
    assert.equal(back[0].runDir, '/tmp/a,"b"');
    assert.equal(back[1].seed, 3);
    assert.equal(back[0].testAccuracyAtBestVal, 0.8143);
    assert.equal(back[0].method, 'alignmixup-flat');
    fs.writeFileSync(file, 'protocol,method\nx,y\n');
    assert.throws(() => readCompareCsv(file), new RegExp(`${file}: missing column\\(s\\) seed`));
  });
});
