import { useI18n } from "vue-i18n";
import { formatBytes, formatDuration } from "@/helpers/format";
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

/** Formatters bound to the current language and time zone (a change of either redraws). */
export function useFormat() {
  const { locale } = useI18n();
  return {
    dateTime: (value: string | null | undefined) => formatDateTime(value, locale.value, timeZone.value),
    duration: formatDuration,
    bytes: formatBytes,
  };
}
