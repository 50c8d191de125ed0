// Time zones by IANA name: the browser's, days and wall times in a zone, and the date
// picker's wall times read in a zone.

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Whether `name` is a time zone this browser knows (an IANA name such as "Asia/Shanghai"). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The calendar day ("YYYY-MM-DD") that the instant `date` falls on in `zone`. */
export function dayIn(date: Date, zone: string): string {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** The last `count` calendar days in `zone`, oldest first, ending with today there. */
export function lastDays(count: number, zone: string, now: Date = new Date()): string[] {
  const [y, m, d] = dayIn(now, zone).split("-").map(Number);
  const days: string[] = [];
  for (let i = count - 1; i >= 0; i -= 1) days.push(new Date(Date.UTC(y, m - 1, d - i)).toISOString().slice(0, 10));
  return days;
}

function partsIn(instant: Date, zone: string): Record<string, number> {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(instant);
  return Object.fromEntries(parts.filter((p) => p.type !== "literal").map((p) => [p.type, Number(p.value)]));
}

/** How far `zone`'s clocks are ahead of UTC at `instant`, in minutes. */
export function offsetMinutes(instant: Date, zone: string): number {
  const p = partsIn(instant, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The wall-clock time ("YYYY-MM-DDTHH:mm:ss") an ISO instant shows in `zone`; "" if unreadable. */
export function wallTimeIn(iso: string, zone: string): string {
  const instant = new Date(iso);
  if (!iso || Number.isNaN(instant.getTime())) return "";
  const p = partsIn(instant, zone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

const WALL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * The instant at which `zone`'s clocks show the wall time `wall` ("YYYY-MM-DDTHH:mm[:ss]"), or
 * null. A time shown twice (clocks set back) is the first; a time skipped (clocks set forward)
 * is read with the offset before the change, so it lands that much later.
 */
export function instantIn(wall: string, zone: string): Date | null {
  const match = WALL.exec(wall);
  if (!match) return null;
  const [y, mo, d, h, mi, s] = match.slice(1).map((v) => Number(v ?? 0));
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const HOURS_14 = 14 * 3_600_000; // no zone is further from UTC
  const before = offsetMinutes(new Date(guess - HOURS_14), zone);
  const after = offsetMinutes(new Date(guess + HOURS_14), zone);
  const shown = [before, after]
    .map((offset) => guess - offset * 60_000)
    .filter((instant) => offsetMinutes(new Date(instant), zone) * 60_000 === guess - instant);
  return new Date(shown.length ? Math.min(...shown) : guess - before * 60_000);
}

/** `wall` in `zone` as ISO 8601 with that zone's offset then ("2024-03-01T10:00:00+08:00"). */
export function isoInZone(wall: string, zone: string): string {
  const instant = instantIn(wall, zone);
  if (!instant) return "";
  const offset = offsetMinutes(instant, zone);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${wallTimeIn(instant.toISOString(), zone)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const HAS_OFFSET = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;

/**
 * What a date picker shows (value-format "YYYY-MM-DDTHH:mm:ss") for an ISO 8601 value: the wall
 * time in `zone`. A value without an offset is a wall time already and shown as is.
 */
export function toPicker(value: string | null | undefined, zone: string): string {
  if (!value) return "";
  if (!HAS_OFFSET.test(value)) return value;
  return wallTimeIn(value, zone);
}

/** A date picker's wall time, read in `zone`, as ISO 8601 with that zone's offset. */
export function fromPicker(wall: string | null | undefined, zone: string): string {
  return wall ? isoInZone(wall, zone) : "";
}

/** The same as `fromPicker`, in UTC ("…Z"): for URLs, which then mean the same in every zone. */
export function fromPickerUtc(wall: string | null | undefined, zone: string): string {
  const instant = wall ? instantIn(wall, zone) : null;
  return instant ? instant.toISOString().replace(".000Z", "Z") : "";
}
