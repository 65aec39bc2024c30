// Translations: svelte-i18n with every string in locales/{id,en}.json. Bahasa Indonesia first.
import { addMessages, init, locale } from "svelte-i18n";
import id from "./locales/id.json";
import en from "./locales/en.json";

export const LOCALES = ["id", "en"] as const;
export type Locale = (typeof LOCALES)[number];
const KEY = "sinergi.locale";

export function setupI18n(): void {
  addMessages("id", id);
  addMessages("en", en);
  let saved: string | null = null;
  try {
    saved = globalThis.localStorage?.getItem(KEY) ?? null;
  } catch {
    saved = null;
  }
  init({ fallbackLocale: "id", initialLocale: saved === "en" ? "en" : "id" });
}

export function switchLocale(l: Locale): void {
  locale.set(l);
  try {
    globalThis.localStorage?.setItem(KEY, l);
  } catch {
    /* private mode: keep it for this session only */
  }
  document.documentElement.lang = l;
}

export const messages = { id, en };
