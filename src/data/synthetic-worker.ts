/** A worker thread of generateInParts: generates the parts it is sent, as arrays or as Criteo TSV bytes (transferred back). */
import { parentPort } from 'node:worker_threads';
import { criteoTsvBytes } from './formats/criteo-writer.ts';
import { generateSynthetic, type SyntheticSpec } from './synthetic.ts';

parentPort!.on('message', ({ spec, tsv }: { spec: SyntheticSpec; tsv: boolean }) => {
  const d = generateSynthetic(spec);
  if (tsv) {
    const bytes = criteoTsvBytes(d).slice(); // a copy of its own: the formatting buffer is larger
    parentPort!.postMessage(bytes, [bytes.buffer]);
    return;
  }
  parentPort!.postMessage(d, [d.labels.buffer, d.dense.buffer, ...d.categorical.map((c) => c.buffer)] as ArrayBuffer[]);
});
