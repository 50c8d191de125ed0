import { createI18n } from "vue-i18n";
import en from "./en";
import zhCN from "./zh-CN";

export const LOCALES = ["en", "zh-CN"] as const;
export type Locale = (typeof LOCALES)[number];
const STORAGE_KEY = "scriptdeck.locale";

/** The saved choice, else the browser's first language we speak, else English. */
export function preferredLocale(
  saved: string | null = localStorage.getItem(STORAGE_KEY),
  languages: readonly string[] = navigator.languages ?? [navigator.language],
): Locale {
  if (saved && (LOCALES as readonly string[]).includes(saved)) return saved as Locale;
  for (const language of languages) {
    const lower = language.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export const i18n = createI18n({
  legacy: false,
  locale: preferredLocale(),
  fallbackLocale: "en",
  messages: { en, "zh-CN": zhCN },
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
}

document.documentElement.lang = i18n.global.locale.value;
