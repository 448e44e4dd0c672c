/**
 * Read-ahead over a schedule that does not depend on training (a source's batches): each batch is handed to
 * `prefetch` `depth` batches before it is yielded, so a slow tier reads its rows while the batches before it train.
 */
export function* readAhead<T>(items: Iterable<T>, depth: number, prefetch: (item: T) => void): Generator<T> {
  if (depth <= 0) return yield* items;
  const queue: T[] = [];
  for (const item of items) {
    prefetch(item);
    queue.push(item);
    if (queue.length > depth) yield queue.shift()!;
  }
  yield* queue;
}
