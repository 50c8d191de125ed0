import { useI18n } from "vue-i18n";
import { timeZone } from "./timeZone";

/** A date and time in `zone` (by default the one chosen in the user menu, else the browser's). */
export function formatDateTime(value: string | null | undefined, locale: string, zone: string = timeZone.value): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(locale, {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23", // not hour12: false, which writes midnight as 24:00 in some engines
  }).format(date);
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Formatters bound to the current language and time zone (a change of either redraws). */
export function useFormat() {
  const { locale } = useI18n();
  return {
    dateTime: (value: string | null | undefined) => formatDateTime(value, locale.value, timeZone.value),
    duration: formatDuration,
    bytes: formatBytes,
  };
}
