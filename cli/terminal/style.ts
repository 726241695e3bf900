// How the terminal is: its width and whether it takes colours. Colours only on a TTY and only when
// NO_COLOR is unset or empty (https://no-color.org); a pipe gets plain text 100 columns wide.

const DEFAULT_PIPE_COLUMNS = 100;
const MIN_COLUMNS = 60;

export interface OutputStream {
  isTTY?: boolean;
  columns?: number;
}

export function terminalColumns(stream: OutputStream = process.stdout): number {
  const columns = stream.isTTY && stream.columns ? stream.columns : Number(process.env.COLUMNS) || DEFAULT_PIPE_COLUMNS;
  return Math.max(MIN_COLUMNS, columns);
}

export function coloursWanted(stream: OutputStream = process.stdout): boolean {
  return stream.isTTY === true && (process.env.NO_COLOR === undefined || process.env.NO_COLOR === '');
}

export interface Palette {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  cyan(text: string): string;
  inverse(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

export const colourPalette: Palette = {
  bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39), cyan: sgr(36, 39), inverse: sgr(7, 27),
};

const same = (text: string) => text;
export const plainPalette: Palette = { bold: same, dim: same, red: same, yellow: same, green: same, cyan: same, inverse: same };

export function paletteFor(stream: OutputStream = process.stdout): Palette {
  return coloursWanted(stream) ? colourPalette : plainPalette;
}
