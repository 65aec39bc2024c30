import { describe, expect, it } from "vitest";
import {
  ageParts,
  buildIndex,
  errorText,
  fieldErrors,
  fingerprintIn,
  flatKeys,
  isRemoteHttp,
  formatDate,
  formatNumber,
  formatZ,
  missing,
  normalize,
  pinProblem,
  pregnancyFlags,
  search,
  searchPregnancies,
  severity,
} from "./logic";
import id from "./locales/id.json";
import en from "./locales/en.json";
import type { AppError, DayChild, PregnancyDto } from "./generated/types";

function child(name: string, extra: Partial<DayChild> = {}): DayChild {
  return {
    id: name,
    name,
    sex: "L",
    birth_date: "2024-01-10",
    nik: null,
    mother_name: null,
    dusun: null,
    done: false,
    last_date: null,
    last_weight_kg: null,
    pending: 0,
    ...extra,
  };
}

const messages: Record<string, Record<string, unknown>> = { id, en };
function lookup(locale: string, key: string): string | undefined {
  let v: unknown = messages[locale];
  for (const part of key.split(".")) v = (v as Record<string, unknown> | undefined)?.[part];
  return typeof v === "string" ? v : undefined;
}
const tr = (locale: string) => (key: string) => lookup(locale, key) ?? key;
const hasIn = (locale: string) => (key: string) => lookup(locale, key) !== undefined;

describe("search", () => {
  const list = [
    child("Siti Aminah", { mother_name: "Wati", nik: "3301014501240001" }),
    child("Budi Santoso", { mother_name: "Sri Rahayu" }),
    child("Ádi Pratama", { mother_name: "Siti" }),
  ];
  const index = buildIndex(list);

  it("finds by name, mother or NIK, ignoring case and accents", () => {
    expect(search(index, "aminah").map((c) => c.name)).toEqual(["Siti Aminah"]);
    expect(search(index, "RAHAYU").map((c) => c.name)).toEqual(["Budi Santoso"]);
    expect(search(index, "330101450124").map((c) => c.name)).toEqual(["Siti Aminah"]);
    expect(search(index, "adi").map((c) => c.name)).toEqual(["Ádi Pratama"]);
  });

  it("needs every word and returns everyone for an empty query", () => {
    expect(search(index, "siti").length).toBe(2);
    expect(search(index, "siti pratama").map((c) => c.name)).toEqual(["Ádi Pratama"]);
    expect(search(index, "  ").length).toBe(3);
    expect(search(index, "zzz")).toEqual([]);
  });

  it("is fast among 5,000 children", () => {
    const many = Array.from({ length: 5000 }, (_, i) => child(`Anak ${i} Nama`, { mother_name: `Ibu ${i}`, nik: `${3301000000000000 + i}` }));
    const idx = buildIndex(many);
    const r = search(idx, "ibu 4321");
    expect(r.map((c) => c.name)).toEqual(["Anak 4321 Nama"]);
  });

  it("normalizes spaces and accents", () => {
    expect(normalize("  Siti   ÁMÍNAH ")).toBe("siti aminah");
  });
});

describe("formatting", () => {
  it("writes numbers the Indonesian way by default", () => {
    expect(formatNumber(8.5, "id")).toBe("8,5");
    expect(formatNumber(8.5, "en")).toBe("8.5");
    expect(formatNumber(null, "id")).toBe("-");
    expect(formatZ(-2.154, "id")).toBe("−2,15");
    expect(formatZ(0.4, "en")).toBe("+0.40");
  });

  it("formats dates and ages", () => {
    expect(formatDate("2025-03-12", "id")).toMatch(/12 Mar 2025/);
    expect(ageParts("2023-05-20", "2025-03-12")).toEqual({ years: 1, months: 9, total: 21 });
    expect(ageParts("2025-03-12", "2025-03-12")).toEqual({ years: 0, months: 0, total: 0 });
    expect(ageParts("2026-01-01", "2025-03-12")).toBeNull();
    expect(ageParts("bad", "2025-03-12")).toBeNull();
  });

  it("colours categories by how bad they are", () => {
    expect(severity("berat_badan_sangat_kurang")).toBe("bad");
    expect(severity("berat_badan_kurang")).toBe("warn");
    expect(severity("berat_badan_normal")).toBe("ok");
    expect(severity("gizi_baik")).toBe("ok");
    expect(severity("pendek")).toBe("warn");
    expect(severity(null)).toBe("none");
  });
});

describe("errors", () => {
  const err = (over: Partial<AppError>): AppError => ({ code: "x", message: "pesan", message_en: "message", field: null, problems: [], ...over });

  it("uses our words for known codes and the core's for the others", () => {
    expect(errorText(err({ code: "network" }), "id", tr("id"), hasIn("id"))).toMatch(/Server tidak dapat dihubungi/);
    expect(errorText(err({ code: "network" }), "en", tr("en"), hasIn("en"))).toMatch(/cannot be reached/);
    expect(errorText(err({ code: "odd_code" }), "id", tr("id"), hasIn("id"))).toBe("pesan");
    expect(errorText(err({ code: "odd_code" }), "en", tr("en"), hasIn("en"))).toBe("message");
  });

  it("maps every problem to its form field", () => {
    const e = err({
      code: "weight_out_of_range",
      field: "weight_kg",
      problems: [
        { code: "weight_out_of_range", field: "weight_kg", message: "a", message_en: "a" },
        { code: "date_in_future", field: "date", message: "b", message_en: "b" },
        { code: "odd", field: null, message: "umum", message_en: "general" },
      ],
    });
    const m = fieldErrors(e, "id", tr("id"), hasIn("id"));
    expect(m.weight_kg).toMatch(/Berat di luar batas/);
    expect(m.date).toMatch(/masa depan/);
    expect(m[""]).toBe("umum");
  });

  it("reports required fields left empty", () => {
    expect(missing({ name: " ", sex: "L" }, ["name", "sex", "birth_date"])).toEqual({ name: "required", birth_date: "required" });
  });
});

describe("translations", () => {
  it("have the same keys in Indonesian and English, none empty", () => {
    const ki = flatKeys(id).sort();
    const ke = flatKeys(en).sort();
    expect(ke).toEqual(ki);
    for (const k of ki) {
      expect(lookup("id", k), k).toBeTruthy();
      expect(lookup("en", k), k).toBeTruthy();
    }
  });

  it("cover every key the components use", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const dir = join(__dirname, "..");
    const files = [join(dir, "App.svelte"), ...readdirSync(join(dir, "screens")).map((f) => join(dir, "screens", f))];
    const used = new Set<string>();
    for (const f of files) {
      for (const m of readFileSync(f, "utf8").matchAll(/\$_\("([a-z_0-9.]+)"/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(50);
    for (const k of used) expect(lookup("id", k), k).toBeDefined();
  });

  it("name every core error code the forms show", () => {
    for (const code of ["network", "bad_credentials", "weight_out_of_range", "date_in_future", "measurement_empty", "required_field_missing"]) {
      expect(lookup("id", `errors.${code}`)).toBeDefined();
    }
  });
});

describe("typed dates", () => {
  it("reads day-first dates and ISO, refuses impossible ones", async () => {
    const { parseDateInput, dateInputText } = await import("./logic");
    expect(parseDateInput("25-10-2026")).toBe("2026-10-25");
    expect(parseDateInput("5/3/25")).toBe("2025-03-05");
    expect(parseDateInput("2026-10-25")).toBe("2026-10-25");
    expect(parseDateInput("31-02-2026")).toBeNull();
    expect(parseDateInput("kemarin")).toBeNull();
    expect(dateInputText("2026-10-25")).toBe("25-10-2026");
  });
});

function pregnancy(name: string, extra: Partial<PregnancyDto> = {}): PregnancyDto {
  return {
    pregnancy_id: name, woman_id: name, woman_name: name, nik: null, posyandu_id: null, hpht: "2025-02-01",
    due_date: "2025-11-08", weeks: 17, trimester: 2, gravida: null, para: null, td_status: "T2",
    next_td: { dose: "T3", due_from: "2025-09-15" }, visits: 2, last_visit: "2025-05-10", last_contact: "K2",
    lila_cm: 24, kek: false, hb_g_dl: 11.5, anaemia: false, outcome: null, active: true, pending: 0,
    ...extra,
  };
}

describe("pregnancy register", () => {
  it("finds a woman by name words or NIK", () => {
    const list = [pregnancy("Siti Aminah", { nik: "3201010101900001" }), pregnancy("Ratna Dewi")];
    expect(searchPregnancies(list, "aminah").map((p) => p.woman_name)).toEqual(["Siti Aminah"]);
    expect(searchPregnancies(list, "32010101").map((p) => p.woman_name)).toEqual(["Siti Aminah"]);
    expect(searchPregnancies(list, "")).toHaveLength(2);
  });
  it("flags KEK, anaemia, a due Td dose and a missing first visit, and nothing once ended", () => {
    expect(pregnancyFlags(pregnancy("a"), "2025-06-01")).toEqual([]);
    expect(pregnancyFlags(pregnancy("a"), "2025-09-15")).toEqual(["td_due"]);
    expect(pregnancyFlags(pregnancy("b", { kek: true, anaemia: true, visits: 0, next_td: { dose: "T1", due_from: null } }), "2025-06-01"))
      .toEqual(["kek", "anaemia", "td_due", "no_visit"]);
    expect(pregnancyFlags(pregnancy("c", { kek: true, active: false }), "2025-06-01")).toEqual([]);
  });
});

describe("PIN", () => {
  it("needs at least 6 characters without spaces, then the same twice", () => {
    expect(pinProblem("", "")).toBe("pin_too_short");
    expect(pinProblem("12345", "12345")).toBe("pin_too_short");
    expect(pinProblem("123 456", "123 456")).toBe("pin_too_short");
    expect(pinProblem("123456 ", "123456 ")).toBe("pin_too_short");
    expect(pinProblem("123456", "123465")).toBe("pin_mismatch");
    expect(pinProblem("123456", "")).toBe("pin_mismatch");
    expect(pinProblem("123456", "123456")).toBeNull();
    expect(pinProblem("20250817", "20250817")).toBeNull();
  });

  it("has its messages in both languages, the core's codes too", () => {
    for (const code of ["pin_too_short", "pin_mismatch", "pin_required", "wrong_pin"]) {
      for (const l of ["id", "en"]) expect(lookup(l, `errors.${code}`), `${l} ${code}`).toBeTruthy();
    }
    const e: AppError = { code: "wrong_pin", message: "PIN salah", message_en: "Wrong PIN", field: "pin", problems: [] };
    expect(errorText(e, "id", tr("id"), hasIn("id"))).toBe("PIN salah. Coba lagi.");
    expect(fieldErrors(e, "en", tr("en"), hasIn("en"))).toEqual({ pin: "Wrong PIN. Try again." });
  });
});

describe("server addresses", () => {
  it("tells plain http to another machine from this machine and from https", () => {
    expect(isRemoteHttp("http://192.168.1.10:8080")).toBe(true);
    expect(isRemoteHttp("HTTP://puskesmas.example")).toBe(true);
    expect(isRemoteHttp("http://127.0.0.1:8080")).toBe(false);
    expect(isRemoteHttp("http://localhost:8080/")).toBe(false);
    expect(isRemoteHttp("http://[::1]:8080")).toBe(false);
    expect(isRemoteHttp("https://192.168.1.10:8443")).toBe(false);
  });

  it("finds the fingerprint a refused enrollment shows", () => {
    const fp = "ab".repeat(32);
    expect(fingerprintIn(`Sertifikat tidak dipercaya. Sidik jari sertifikat server: ${fp}. Bila`)).toBe(fp);
    expect(fingerprintIn("tidak ada")).toBeNull();
  });
});
