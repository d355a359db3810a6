// Row keys are hashed with @noble/hashes (synchronous in a browser too); a cache written when they
// came from node:crypto must keep its keys, so both must give the same SHA-256 over the same bytes.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { TeacherCache, rowKey } from '@distillery/plugins';

const ids = fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 12 });

it('rowKey equals node:crypto SHA-256 of ids | token types', () => {
  fc.assert(
    fc.property(ids, fc.boolean(), (row, withTypes) => {
      const types = withTypes ? row.map((v) => v % 2) : undefined;
      const node = createHash('sha256').update(Int32Array.from(row)).update('|').update(types ? Int32Array.from(types) : new Int32Array(row.length)).digest('hex');
      expect(rowKey(row, types)).toBe(node);
    }),
  );
});

it('TeacherCache.rowKeys equals node:crypto SHA-256 of teacher|length, then each part and "|"', () => {
  const rows = [[2, 5, 7, 3], [2, 9, 3, 0]];
  const mask = [[1, 1, 1, 1], [1, 1, 1, 0]];
  const [inputIds, attentionMask] = [tf.tensor2d(rows, undefined, 'int32'), tf.tensor2d(mask, undefined, 'int32')];
  const node = rows.map((r, i) => createHash('sha256').update('1|4').update(Int32Array.from(r)).update('|').update(Int32Array.from(mask[i]!)).update('|').update(new Int32Array(0)).update('|').digest('hex'));
  expect(TeacherCache.rowKeys(1, inputIds, attentionMask)).toEqual(node);
  tf.dispose([inputIds, attentionMask]);
});
