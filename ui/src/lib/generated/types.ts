// Generated from src-tauri/src/{dto,error}.rs by ts-rs. Do not edit.
// Regenerate: UPDATE_GENERATED=1 cargo test -p sinergi-app generated_types

export type AppError = { code: string, message: string, message_en: string, field: string | null, 
/**
 * Every problem when the core found several (e.g. two invalid fields of one form).
 */
problems: Array<ProblemDto>, };

export type ProblemDto = { code: string, field: string | null, message: string, message_en: string, };

export type RecordDto = { id: string, kind: string, posyandu_id: string | null, fields: Record<string, unknown>, 
/**
 * Edits to this record not yet acknowledged by the server.
 */
pending: number, };

export type WarningDto = { code: string, message: string, message_en: string, };

export type EditResult = { id: string, device_seq: number, warnings: Array<WarningDto>, };

export type AppInfo = { version: string, data_dir: string, export_dir: string, 
/**
 * Today on the device, corrected by the server's measured clock offset (YYYY-MM-DD).
 */
today: string, 
/**
 * Always `None` while locked.
 */
enrollment: EnrollmentDto | null, 
/**
 * The store is encrypted and waits for its PIN (`unlock`): every other command answers
 * `pin_required`.
 */
locked: boolean, 
/**
 * The store is encrypted at rest (false for a plain store made by the headless client).
 */
encrypted: boolean, };

export type EnrollmentDto = { server_url: string, device_id: string, 
/**
 * admin, coordinator, bidan or kader.
 */
role: string, user: string, puskesmas_id: string, posyandu_id: string | null, 
/**
 * Enrolled over plain http:// to another machine (`--insecure-http`): shown in red.
 */
insecure_http: boolean, };

export type SyncReportDto = { pushed: number, acknowledged: number, pulled: number, removed: number, conflicts: number, refused: number, requests: number, clock_offset_ms: number, clock_warning: boolean, cursor: number, complete: boolean, };

export type BundlePreviewDto = { 
/**
 * The server it points to (none: the device syncs by files only).
 */
server_url: string | null, user: string, role: string, 
/**
 * The server key the device will trust, in groups of four hex digits.
 */
server_key: string, records: number, };

export type RefusedDto = { device_seq: number, kind: string, id: string, fields: Record<string, unknown>, code: string, message: string, message_en: string, refused_ms: number, };

export type SyncStatus = { pending_edits: number, cursor: number, last_sync_ms: number | null, clock_offset_ms: number, clock_warning: boolean, refused: Array<RefusedDto>, };

export type CategoryDto = { code: string, label_id: string, label_en: string, };

export type ZDto = { waz: number | null, laz: number | null, wlz: number | null, baz: number | null, hcz: number | null, acz: number | null, };

export type AssessmentDto = { date: string, age_days: number, age_months: number, uses_height: boolean, z: ZDto, bb_u: CategoryDto | null, pb_u: CategoryDto | null, bb_pb: CategoryDto | null, imt_u: CategoryDto | null, stunting: boolean | null, wasting: boolean | null, underweight: boolean | null, 
/**
 * N, T, O or B.
 */
trend: string | null, gain_g: number | null, kbm_g: number | null, two_t: boolean, bgm: boolean, refer: boolean, 
/**
 * 2T, BGM, gizi_buruk, oedema.
 */
refer_reasons: Array<string>, 
/**
 * Some z-score is biologically implausible (likely a typing error).
 */
implausible: boolean, };

export type MeasureResult = { id: string, warnings: Array<WarningDto>, assessment: AssessmentDto | null, assessment_error: string | null, };

export type MeasurementRow = { record: RecordDto, assessment: AssessmentDto | null, };

export type DueDto = { code: string, name: string, 
/**
 * vaccine or vitamin_a.
 */
kind: string, 
/**
 * due or overdue.
 */
status: string, due_from: string, overdue_from: string, };

export type ChildPage = { child: RecordDto, 
/**
 * Oldest first.
 */
measurements: Array<MeasurementRow>, immunizations: Array<RecordDto>, vitamin_a: Array<RecordDto>, referrals: Array<RecordDto>, due: Array<DueDto>, };

export type DayChild = { id: string, name: string, sex: string, birth_date: string, nik: string | null, mother_name: string | null, dusun: string | null, 
/**
 * Weighed in the current month.
 */
done: boolean, last_date: string | null, last_weight_kg: number | null, pending: number, };

export type DayList = { 
/**
 * YYYY-MM.
 */
month: string, children: Array<DayChild>, };

export type GrowthCurves = { 
/**
 * wfa, lhfa, wflh.
 */
index: string, sex: string, x: Array<number>, sd: Array<Array<number>>, };

export type ReportRequest = { 
/**
 * YYYY-MM.
 */
month: string, 
/**
 * posyandu, desa, puskesmas or all.
 */
level: string, id: string | null, };

export type SkdnDto = { s: number, k: number, d: number, n: number, t: number, o: number, b: number, two_t: number, bgm: number, k_s: number | null, d_s: number | null, n_d: number | null, };

export type SkdnRowDto = { place: string, desa: string | null, counts: SkdnDto, };

export type ReportView = { month: string, month_name: string, scope: string, skdn_rows: Array<SkdnRowDto>, skdn_total: SkdnDto, warnings: Array<WarningDto>, };

export type FileWritten = { path: string, count: number, };

export type Place = { id: string, 
/**
 * posyandu or desa.
 */
level: string, name: string, };

export type NextTdDto = { dose: string, due_from: string | null, };

export type VisitDto = { id: string, date: string, weight_kg: number | null, muac_cm: number | null, hb_g_dl: number | null, td_given: string | null, iron_tablets: number | null, contact: string | null, kek: boolean | null, anaemia: boolean | null, pending: number, };

export type PregnancyDto = { pregnancy_id: string, woman_id: string, woman_name: string, nik: string | null, posyandu_id: string | null, hpht: string | null, due_date: string | null, weeks: number | null, trimester: number | null, gravida: number | null, para: number | null, td_status: string | null, next_td: NextTdDto | null, visits: number, last_visit: string | null, last_contact: string | null, lila_cm: number | null, kek: boolean | null, hb_g_dl: number | null, anaemia: boolean | null, outcome: string | null, active: boolean, pending: number, };

export type PregnancyPageDto = { entry: PregnancyDto, visits: Array<VisitDto>, };

