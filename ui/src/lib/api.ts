// Typed calls into the Rust commands (src-tauri/src/commands.rs). Types come from Rust (ts-rs).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AppError,
  AppInfo,
  ChildPage,
  DayList,
  EditResult,
  FileWritten,
  GrowthCurves,
  MeasureResult,
  Place,
  PregnancyDto,
  PregnancyPageDto,
  RecordDto,
  ReportRequest,
  ReportView,
  SyncReportDto,
  BundlePreviewDto,
  SyncStatus,
} from "./generated/types";

export type Values = Record<string, string>;

/** Every failure of a command is an AppError {code, message, message_en, field, problems}. */
export function asAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "code" in e) return e as AppError;
  const m = String(e);
  return { code: "unknown", message: m, message_en: m, field: null, problems: [] };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asAppError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  /** Opens the encrypted store (`wrong_pin` leaves it locked). */
  unlock: (pin: string) => call<null>("unlock", { pin }),
  /** Sets the PIN of a plain store (`current` null) or changes it. */
  changePin: (current: string | null, next: string) => call<null>("change_pin", { current, new: next }),
  /** Enrolls with the server; the store is encrypted under `pin` before anything is written. */
  enroll: (
    serverUrl: string,
    user: string,
    password: string,
    deviceName: string,
    pin: string,
    tlsFingerprint: string | null,
    insecureHttp: boolean,
  ) =>
    call<SyncReportDto>("enroll", {
      form: { serverUrl, user, password, deviceName, pin, tlsFingerprint, insecureHttp },
    }),
  previewBundle: (path: string) => call<BundlePreviewDto>("preview_bundle", { path }),
  openBundle: (path: string, pin: string) => call<SyncReportDto>("open_bundle", { path, pin }),
  pregnancyRegister: () => call<PregnancyDto[]>("pregnancy_register"),
  pregnancyPage: (id: string) => call<PregnancyPageDto>("pregnancy_page", { id }),
  listRecords: (kind: string) => call<RecordDto[]>("list_records", { kind }),
  getRecord: (id: string) => call<RecordDto>("get_record", { id }),
  childrenOf: (parent: string, kind: string) => call<RecordDto[]>("children_of", { parent, kind }),
  createRecord: (kind: string, values: Values) => call<EditResult>("create_record", { kind, values }),
  updateRecord: (kind: string, id: string, values: Values) =>
    call<EditResult>("update_record", { kind, id, values }),
  addMeasurement: (childId: string, values: Values) =>
    call<MeasureResult>("add_measurement", { childId, values }),
  dayList: () => call<DayList>("day_list"),
  childPage: (id: string) => call<ChildPage>("child_page", { id }),
  growthCurves: (sex: string, index: string, from: number, to: number, height = false) =>
    call<GrowthCurves>("growth_curves", { sex, index, from, to, height }),
  syncStatus: () => call<SyncStatus>("sync_status"),
  syncNow: () => call<SyncReportDto>("sync_now"),
  exportBundle: () => call<FileWritten>("export_bundle"),
  importReply: (path: string) => call<SyncReportDto>("import_reply", { path }),
  resolveConflict: (id: string, choice: "winning" | "losing") =>
    call<EditResult>("resolve_conflict", { id, choice }),
  mergeDuplicate: (id: string, keep: string) => call<EditResult>("merge_duplicate", { id, keep }),
  places: () => call<Place[]>("places"),
  reportView: (req: ReportRequest) => call<ReportView>("report_view", { req }),
  exportReport: (req: ReportRequest, format: string) =>
    call<FileWritten>("export_report", { req, format }),
  onSyncProgress: (f: (r: SyncReportDto) => void): Promise<UnlistenFn> =>
    listen<SyncReportDto>("sync-progress", (e) => f(e.payload)),
};

/** The first screen's data, asked for while the page is still mounting (see main.ts). */
type Early = { appInfo: AppInfo; dayList: DayList };
const early: { [K in keyof Early]?: Promise<Early[K]> } = {};

export function preload(): void {
  early.appInfo = api.appInfo();
  early.dayList = api.dayList();
  // A locked or new store answers with an error: the screens then ask again themselves.
  early.dayList.catch(() => undefined);
}

/** The preloaded answer once (asked afresh if it failed), then always a fresh one. */
export function preloaded<K extends keyof Early>(key: K): Promise<Early[K]> {
  const fresh = api[key] as () => Promise<Early[K]>;
  const p = early[key] as Promise<Early[K]> | undefined;
  delete early[key];
  return p ? p.catch(() => fresh()) : fresh();
}

/** Forget a preloaded answer that may be stale (the store was locked or not yet enrolled). */
export function forgetPreloaded(): void {
  delete early.dayList;
}
