// The version rule of a re-sync (repair, backfill, reindex): a row read from MySQL is written with
//
//   version = generation × 2^44 + E − 1
//
// where E is the end offset of the table's partition (the offset the next message will get) taken
// *before* the row is read. Why it is safe, online, with the binlog flowing:
//  - A change committed after the read is published after E was taken, so its offset is ≥ E and its
//    version is greater than the re-sync's: it always wins, in the buffer (compare-by-version) and in
//    Elasticsearch (external versions). A re-sync can never beat a newer change.
//  - A change already published (offset < E) is older than the read or equal to it: the re-sync's
//    version is ≥ its version. Greater: the re-sync replaces it with the same or a newer state. Equal
//    (the change at E − 1): the re-sync is refused, and what stays is that change, which is the row's
//    newest state when nothing came after it.
//  - A change committed before the read but published after E was taken (Canal's lag) has an offset
//    ≥ E: it replaces the re-sync's state with an older one for a moment; every later change of the
//    row follows it in the same partition, so the row ends at its newest state all the same.
// A table never seen yet in this generation has no partition: the smallest end offset over every
// partition of the topics is taken (any partition its first change could land in ends at or above it).
// An empty partition (end 0) in generation 0 leaves no version below its first change: it is first
// given one message that every consumer skips (a Canal QUERY message), so its changes start at 1.
import { makeVersion } from '@sluice/core';

export class ResyncVersionError extends Error {}

export function resyncVersion(generation: number, endOffset: number): number {
  if (endOffset < 1) {
    if (generation < 1) {
      throw new ResyncVersionError(
        'the partition holds no message yet and the generation is 0: no version is below its first change',
      );
    }
    // The previous generation's last version is below every version of this generation.
    return makeVersion(generation, 0) - 1;
  }
  return makeVersion(generation, endOffset - 1);
}
