// The output of one execution as lines, kept out of Vue's reactivity (100,000 lines must not
// be proxied): `version` says when it changed.
import { ref } from "vue";

export interface Line {
  stream: string;
  text: string;
  /** the line has not ended yet: the next chunk of its stream continues it */
  open: boolean;
}

export class OutputBuffer {
  readonly lines: Line[] = [];
  readonly version = ref(0);
  private scheduled = false;
  private readonly lastOpen = new Map<string, number>();

  append(stream: string, text: string): void {
    const parts = text.split("\n");
    const openIndex = this.lastOpen.get(stream);
    parts.forEach((part, i) => {
      const ends = i < parts.length - 1;
      if (i === 0 && openIndex !== undefined) {
        const line = this.lines[openIndex];
        line.text += part.replace(/\r$/, "");
        line.open = !ends;
        if (ends) this.lastOpen.delete(stream);
        return;
      }
      if (!ends && part === "") return; // the text ended with a newline
      this.lines.push({ stream, text: part.replace(/\r$/, ""), open: !ends });
      if (!ends) this.lastOpen.set(stream, this.lines.length - 1);
    });
    this.touch();
  }

  clear(): void {
    this.lines.length = 0;
    this.lastOpen.clear();
    this.touch();
  }

  /** Many chunks in one tick re-render once. */
  private touch(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.version.value += 1;
    });
  }
}
