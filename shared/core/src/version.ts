// Versions. Every change carries a number that orders it against every other change of the same row,
// used as Elasticsearch's external version and by the buffer's compare-by-version.
//
//   version = generation × 2^44 + Kafka offset
//
// Canal publishes every change of a table to one partition (canal.mq.partitionHash by table), so
// within a generation a row's changes are totally ordered by their partition offset, including both
// halves of a primary-key change (old and new id are in the same table). The generation is bumped by
// the operator when the topic is repartitioned (a table then lands in another partition whose offsets
// are not comparable). Limits: offsets below 2^44 (1.7e13 messages per partition), generations up to
// 511; the result stays below 2^53 (a safe JavaScript integer and a valid Elasticsearch version).

export const OFFSET_BITS = 44;
const OFFSET_SPAN = 2 ** OFFSET_BITS;
export const MAX_OFFSET = OFFSET_SPAN - 1;
export const MAX_GENERATION = 2 ** (53 - OFFSET_BITS) - 1;

export function makeVersion(generation: number, offset: number | string): number {
  const off = typeof offset === 'string' ? Number(offset) : offset;
  if (!Number.isSafeInteger(off) || off < 0 || off > MAX_OFFSET) {
    throw new RangeError(`offset ${offset} is outside 0..${MAX_OFFSET}`);
  }
  if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) {
    throw new RangeError(`generation ${generation} is outside 0..${MAX_GENERATION}`);
  }
  return generation * OFFSET_SPAN + off;
}

export function versionParts(version: number): { generation: number; offset: number } {
  return { generation: Math.floor(version / OFFSET_SPAN), offset: version % OFFSET_SPAN };
}
