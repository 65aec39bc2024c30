// UI logic without Svelte or Tauri, so vitest can cover it: search, formatting, errors.
import type { AppError, DayChild, PregnancyDto } from "./generated/types";

/** Lower case, no accents, single spaces: "Siti  Ámínah" -> "siti aminah". */
export function normalize(s: string): string {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

export interface Indexed {
  child: DayChild;
  key: string;
}

/** One search key per child (name, mother, NIK, dusun), built once per list. */
export function buildIndex(children: DayChild[]): Indexed[] {
  return children.map((child) => ({
    child,
    key: normalize([child.name, child.mother_name ?? "", child.nik ?? "", child.dusun ?? ""].join(" | ")),
  }));
}

/** Children whose name, mother's name or NIK contain every word of the query. */
export function search(index: Indexed[], query: string): DayChild[] {
  const words = normalize(query).split(" ").filter(Boolean);
  if (words.length === 0) return index.map((i) => i.child);
  const out: DayChild[] = [];
  for (const i of index) {
    if (words.every((w) => i.key.includes(w))) out.push(i.child);
  }
  return out;
}

/** Intl formatters are costly to build (WebKit: a fraction of a millisecond each, and a day list
 *  formats dozens of dates): one per locale and options, kept for the session. */
const intlCache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let v = intlCache.get(key) as T | undefined;
  if (!v) {
    v = make();
    intlCache.set(key, v);
  }
  return v;
}
const tag = (locale: string) => (locale === "en" ? "en-GB" : "id-ID");

/** Completed months and years between two ISO dates (calendar, not 30-day months). */
export function ageParts(birth: string, on: string): { years: number; months: number; total: number } | null {
  const b = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birth);
  const o = /^(\d{4})-(\d{2})-(\d{2})$/.exec(on);
  if (!b || !o) return null;
  let total = (+o[1] - +b[1]) * 12 + (+o[2] - +b[2]);
  if (+o[3] < +b[3]) total -= 1;
  if (total < 0) return null;
  return { years: Math.floor(total / 12), months: total % 12, total };
}

/** Numbers as people write them: "8,5" in Indonesian, "8.5" in English. */
export function formatNumber(n: number | null | undefined, locale: string, digits = 1): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "-";
  const f = cached(`number ${locale} ${digits}`, () =>
    new Intl.NumberFormat(tag(locale), { minimumFractionDigits: digits, maximumFractionDigits: digits }),
  );
  return f.format(n);
}

/** A z-score with its sign: "−2,15" / "+0,40". */
export function formatZ(z: number | null | undefined, locale: string): string {
  if (z === null || z === undefined) return "-";
  const s = formatNumber(Math.abs(z), locale, 2);
  return (z < 0 ? "−" : "+") + s;
}

/** "12 Mar 2025" / "12 Mar 2025" from an ISO date, in the UI language. */
export function formatDate(iso: string | null | undefined, locale: string): string {
  if (!iso) return "-";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  const f = cached(`date ${locale}`, () =>
    new Intl.DateTimeFormat(tag(locale), { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }),
  );
  return f.format(d);
}

/** The month name for "2025-03". */
export function formatMonth(ym: string, locale: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(ym);
  if (!m) return ym;
  const f = cached(`month ${locale}`, () =>
    new Intl.DateTimeFormat(tag(locale), { month: "long", year: "numeric", timeZone: "UTC" }),
  );
  return f.format(new Date(Date.UTC(+m[1], +m[2] - 1, 1)));
}

/** How bad a Permenkes category is, for its colour (the category itself comes from the core). */
export function severity(code: string | null | undefined): "ok" | "warn" | "bad" | "none" {
  if (!code) return "none";
  const bad = ["berat_badan_sangat_kurang", "sangat_pendek", "gizi_buruk", "obesitas"];
  const warn = ["berat_badan_kurang", "risiko_berat_badan_lebih", "pendek", "gizi_kurang", "berisiko_gizi_lebih", "gizi_lebih"];
  if (bad.includes(code)) return "bad";
  if (warn.includes(code)) return "warn";
  return "ok";
}

type Translate = (key: string) => string;

/** The text to show for an error: our translation of its code, else the core's own words. */
export function errorText(e: AppError, locale: string, t: Translate, has: (key: string) => boolean): string {
  const key = `errors.${e.code}`;
  if (has(key)) return t(key);
  return (locale === "en" ? e.message_en : e.message) || t("errors.unknown");
}

/** Problems by form field: {weight_kg: "…", date: "…"}; problems without a field go under "". */
export function fieldErrors(
  e: AppError,
  locale: string,
  t: Translate,
  has: (key: string) => boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  const problems = e.problems.length > 0 ? e.problems : [{ code: e.code, field: e.field, message: e.message, message_en: e.message_en }];
  for (const p of problems) {
    const k = p.field ?? "";
    const text = errorText({ ...p, problems: [] }, locale, t, has);
    out[k] = out[k] ? `${out[k]} ${text}` : text;
  }
  return out;
}

/** Required fields left empty, checked before the core is asked (the core checks again). */
export function missing(values: Record<string, string>, required: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of required) if (!values[f] || values[f].trim() === "") out[f] = "required";
  return out;
}

/** Flatten nested locale JSON to dotted keys, for the "both languages have every key" check. */
export function flatKeys(o: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === "object" ? flatKeys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

/** KMS colours of the bands between SD lines, after the Permenkes BB/U categories: below −3
 *  red (sangat kurang, filled from the −3 line down), −3..−2 yellow (kurang), −2..+1 green
 *  (normal, darker near the median), +1..+3 yellow (risiko lebih). */
export const BELOW_MINUS_3 = "rgba(200, 30, 30, 0.30)";
export const BAND_COLOURS = [
  "rgba(240, 200, 40, 0.45)", // -3 to -2
  "rgba(60, 170, 80, 0.25)", // -2 to -1
  "rgba(60, 170, 80, 0.45)", // -1 to 0
  "rgba(60, 170, 80, 0.45)", // 0 to +1
  "rgba(240, 200, 40, 0.30)", // +1 to +2
  "rgba(240, 200, 40, 0.45)", // +2 to +3
];
export const SD_LABELS = ["−3 SD", "−2 SD", "−1 SD", "Median", "+1 SD", "+2 SD", "+3 SD"];

/** A typed date, day first as Indonesians write it ("25-10-2026", "25/10/2026", "25.10.26"),
 *  or ISO; returns ISO "2026-10-25", or null when it is not a real date. */
export function parseDateInput(s: string): string | null {
  const t = s.trim();
  let y: number, m: number, d: number;
  let r = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t);
  if (r) {
    [y, m, d] = [+r[1], +r[2], +r[3]];
  } else {
    r = /^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{2}|\d{4})$/.exec(t);
    if (!r) return null;
    [d, m, y] = [+r[1], +r[2], +r[3]];
    if (y < 100) y += 2000;
  }
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** ISO "2026-10-25" as typed in the form: "25-10-2026". */
export function dateInputText(iso: string): string {
  const r = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return r ? `${r[3]}-${r[2]}-${r[1]}` : iso;
}

/** Pregnancies whose woman's name or NIK contain every word of the query. */
export function searchPregnancies(list: PregnancyDto[], query: string): PregnancyDto[] {
  const words = normalize(query).split(" ").filter(Boolean);
  if (words.length === 0) return list;
  return list.filter((p) => {
    const key = normalize(`${p.woman_name} | ${p.nik ?? ""}`);
    return words.every((w) => key.includes(w));
  });
}

/** What a kader must act on for a pregnancy, most urgent first (keys under `pregnancy.flag_`). */
export function pregnancyFlags(p: PregnancyDto, today: string): string[] {
  const out: string[] = [];
  if (!p.active) return out;
  if (p.kek) out.push("kek");
  if (p.anaemia) out.push("anaemia");
  if (p.next_td && (p.next_td.due_from === null || p.next_td.due_from <= today)) out.push("td_due");
  if (p.visits === 0) out.push("no_visit");
  return out;
}

/** The core's rule for a PIN (sinergi_core::store::keyfile::PIN_MIN_LEN): at least 6
 *  characters, no spaces. */
export const PIN_MIN_LEN = 6;

/** Why a new PIN and its repeat cannot be used, checked before the core is asked (the core
 *  checks again): "pin_too_short", "pin_mismatch" (the two differ), or null when it is fine.
 *  The codes are keys under `errors.`. */
export function pinProblem(pin: string, repeat: string): "pin_too_short" | "pin_mismatch" | null {
  if ([...pin].length < PIN_MIN_LEN || /\s/.test(pin)) return "pin_too_short";
  if (pin !== repeat) return "pin_mismatch";
  return null;
}

/** A plain http:// address on another machine: passwords and data would travel in clear. */
export function isRemoteHttp(url: string): boolean {
  const m = /^http:\/\/(\[[^\]]*\]|[^/:?#]*)/i.exec(url.trim());
  if (!m) return false;
  const host = m[1].toLowerCase().replace(/^\[|\]$/g, "");
  return !(host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host));
}

/** The certificate fingerprint (64 hex digits) a refused HTTPS enrollment shows, if any. */
export function fingerprintIn(message: string): string | null {
  return /\b[0-9a-f]{64}\b/i.exec(message)?.[0] ?? null;
}
