/** A message as one printable line: bad input is quoted in messages, so its line ends and other control characters
 *  (a NUL, a CR, JSON's own excerpt of a broken file) are escaped. */
export function printable(message: string): string {
  return message.replace(/[\0-\x08\x0a-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
