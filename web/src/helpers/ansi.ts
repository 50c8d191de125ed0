// ANSI SGR colours turned into text segments with classes/styles: never HTML.

export interface Segment {
  text: string;
  classes: string[];
  style?: Record<string, string>;
}

interface State {
  fg?: string;
  bg?: string;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const BASIC = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
// ESC [ params final-byte (CSI) or ESC ] ... BEL/ST (OSC) or a lone ESC X.
const ESCAPE = /\x1b\[([0-9;?]*)([ -/]*[@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

function color256(n: number): string {
  if (n < 8) return `var(--ansi-${BASIC[n]})`;
  if (n < 16) return `var(--ansi-bright-${BASIC[n - 8]})`;
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

function extended(codes: number[], at: number): [string | undefined, number] {
  if (codes[at + 1] === 5 && codes.length > at + 2) return [color256(codes[at + 2] & 255), at + 2];
  if (codes[at + 1] === 2 && codes.length > at + 4) {
    const [r, g, b] = codes.slice(at + 2, at + 5).map((v) => Math.min(255, Math.max(0, v)));
    return [`rgb(${r}, ${g}, ${b})`, at + 4];
  }
  return [undefined, at];
}

function apply(state: State, params: string): void {
  const codes = params === "" ? [0] : params.split(";").map((p) => (p === "" ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i += 1) {
    const code = codes[i];
    if (code === 0) Object.assign(state, { fg: undefined, bg: undefined, bold: false, dim: false, italic: false, underline: false });
    else if (code === 1) state.bold = true;
    else if (code === 2) state.dim = true;
    else if (code === 3) state.italic = true;
    else if (code === 4) state.underline = true;
    else if (code === 22) state.bold = state.dim = false;
    else if (code === 23) state.italic = false;
    else if (code === 24) state.underline = false;
    else if (code >= 30 && code <= 37) state.fg = `var(--ansi-${BASIC[code - 30]})`;
    else if (code >= 90 && code <= 97) state.fg = `var(--ansi-bright-${BASIC[code - 90]})`;
    else if (code >= 40 && code <= 47) state.bg = `var(--ansi-${BASIC[code - 40]})`;
    else if (code >= 100 && code <= 107) state.bg = `var(--ansi-bright-${BASIC[code - 100]})`;
    else if (code === 39) state.fg = undefined;
    else if (code === 49) state.bg = undefined;
    else if (code === 38 || code === 48) {
      const [value, next] = extended(codes, i);
      if (code === 38) state.fg = value;
      else state.bg = value;
      i = next;
    }
  }
}

function segment(text: string, state: State): Segment {
  const classes: string[] = [];
  if (state.bold) classes.push("ansi-bold");
  if (state.dim) classes.push("ansi-dim");
  if (state.italic) classes.push("ansi-italic");
  if (state.underline) classes.push("ansi-underline");
  const style: Record<string, string> = {};
  if (state.fg) style.color = state.fg;
  if (state.bg) style.backgroundColor = state.bg;
  return Object.keys(style).length ? { text, classes, style } : { text, classes };
}

/** One line of output as styled segments; escape sequences other than colours are dropped. */
export function parseAnsi(line: string): Segment[] {
  if (!line.includes("\x1b")) return [{ text: line, classes: [] }];
  const state: State = { bold: false, dim: false, italic: false, underline: false };
  const segments: Segment[] = [];
  let last = 0;
  for (const match of line.matchAll(ESCAPE)) {
    const index = match.index ?? 0;
    if (index > last) segments.push(segment(line.slice(last, index), state));
    if (match[2] === "m") apply(state, match[1] ?? "");
    last = index + match[0].length;
  }
  if (last < line.length) segments.push(segment(line.slice(last), state));
  return segments.filter((s) => s.text !== "");
}

/** The line without any escape sequence (for search and copy). */
export function stripAnsi(line: string): string {
  return line.includes("\x1b") ? line.replace(ESCAPE, "") : line;
}
