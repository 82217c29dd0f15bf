import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watermarkAction } from './backpressure.ts';

const marks = { high: 100, low: 20 };

test('pauses at the high watermark and resumes only at the low one', () => {
  assert.equal(watermarkAction(false, 99, marks), undefined);
  assert.equal(watermarkAction(false, 100, marks), 'pause');
  assert.equal(watermarkAction(false, 5000, marks), 'pause');
  assert.equal(watermarkAction(true, 100, marks), undefined, 'already paused');
  assert.equal(watermarkAction(true, 21, marks), undefined, 'between the marks: stays paused');
  assert.equal(watermarkAction(true, 20, marks), 'resume');
  assert.equal(watermarkAction(false, 20, marks), undefined, 'running below low: nothing to do');
});
