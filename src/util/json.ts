/** JSON that keeps Infinity and NaN (run configs and checkpoint state hold both), written as strings. */
const special = new Map<string, number>([['Infinity', Infinity], ['-Infinity', -Infinity], ['NaN', NaN]]);

export function stringifyExact(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), indent);
}

export function parseExact(text: string): unknown {
  return JSON.parse(text, (_key, v) => (typeof v === 'string' && special.has(v) ? special.get(v) : v));
}
