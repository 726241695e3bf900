// Fitting text into columns: truncation that keeps what identifies a thing (a path keeps its file
// name and line, a function keeps its start), and padding.

/** `text` cut to `width` characters with a trailing ellipsis. */
export function truncateEnd(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * A path or `path:line:col` cut to `width` by dropping whole leading directories ("…/lib/app.js:12");
 * if the file name alone is too long, its start goes ("…ong-name.js:12").
 */
export function truncatePath(path: string, width: number): string {
  if (width <= 0) return '';
  if (path.length <= width) return path;
  const parts = path.split('/');
  for (let drop = 1; drop < parts.length; drop++) {
    const candidate = `…/${parts.slice(drop).join('/')}`;
    if (candidate.length <= width) return candidate;
  }
  return `…${path.slice(path.length - width + 1)}`;
}

export function padEnd(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function padStart(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** Words in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
