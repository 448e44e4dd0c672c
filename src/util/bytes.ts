/** A byte count for people: 2.0 TiB, 1.5 GiB, 256.0 MiB, 31.3 KiB, 12 B. */
export function formatBytes(bytes: number): string {
  const units: [string, number][] = [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]];
  for (const [unit, size] of units) if (bytes >= size) return `${(bytes / size).toFixed(1)} ${unit}`;
  return `${bytes} B`;
}
