//! The app's commands: each is a thin call into sinergi-core (the same calls the CLI makes in
//! cli/src/*.rs), run off the UI thread, with errors as `AppError`.

use crate::dto::*;
use crate::error::{AppError, AppResult};
use crate::AppState;
use serde_json::Value;
use sinergi_core::growth::{self, tables, zscore, Received, Sex};
use sinergi_core::hlc::SystemClock;
use sinergi_core::model::{parse_field_value, Fields, Kind};
use sinergi_core::protocol::EnrollRequest;
use sinergi_core::report::{self, Format, Level, ReportInput, YearMonth};
use sinergi_core::store::{keyfile, Choice, LocalStore};
use sinergi_core::sync::{self as core_sync, HttpTransport, SyncOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::{Emitter, State};
use uuid::Uuid;

/// Runs `f` with the store's slot on a blocking thread (SQLite, argon2 and HTTP calls never
/// block the UI). The slot is `None` while an encrypted store waits for its PIN.
async fn with_slot<T, F>(state: &State<'_, AppState>, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Option<LocalStore>) -> AppResult<T> + Send + 'static,
{
    let store = state.store.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let mut slot = store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut slot)
    })
    .await
    .map_err(|e| AppError::new("internal", e.to_string(), e.to_string()))?
}

/// Runs `f` with the open store; a locked one answers `pin_required`.
async fn with_store<T, F>(state: &State<'_, AppState>, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut LocalStore) -> AppResult<T> + Send + 'static,
{
    with_slot(state, |slot| match slot.as_mut() {
        Some(s) => f(s),
        None => Err(keyfile::pin_required().into()),
    })
    .await
}

/// Opens a locked store with its PIN (`wrong_pin` leaves it locked); an open one stays as is.
fn unlock_slot(slot: &mut Option<LocalStore>, dir: &Path, pin: &str) -> AppResult<()> {
    if slot.is_none() {
        *slot = Some(LocalStore::open_with_pin(
            dir,
            Some(pin),
            Arc::new(SystemClock),
        )?);
    }
    Ok(())
}

/// Before a first enrollment writes anything (token, records), encrypt the store under `pin`:
/// the app never keeps a kader's data plain. A bad PIN is refused before anything changes. A
/// first attempt that failed after this point (no link, a wrong password, a bad file) left the
/// store encrypted under the PIN given then, so trying again needs that same PIN.
fn protect_before_enroll(s: &mut LocalStore, pin: &str) -> AppResult<()> {
    keyfile::check_pin(pin)?;
    if s.enrollment()?.is_some() {
        // The core refuses a second enrollment with its own error.
        return Ok(());
    }
    let current = s.is_encrypted().then_some(pin);
    s.set_pin(current, pin)?;
    Ok(())
}

fn parse_id(s: &str, what: &str) -> AppResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| {
        AppError::invalid(
            "invalid_id",
            what,
            format!("'{s}' bukan ID yang sah untuk {what}"),
            format!("'{s}' is not a valid id for {what}"),
        )
    })
}

fn parse_kind(s: &str) -> AppResult<Kind> {
    s.parse().map_err(|_| {
        AppError::invalid(
            "unknown_kind",
            "kind",
            format!("Jenis data '{s}' tidak dikenal"),
            format!("Unknown record kind '{s}'"),
        )
    })
}

/// Form values (text, as typed) into typed fields, with every problem reported at once.
/// Empty values are left out when creating and clear the field when updating.
fn typed_fields(kind: Kind, values: &BTreeMap<String, String>, create: bool) -> AppResult<Fields> {
    let mut fields = Fields::new();
    let mut problems = Vec::new();
    for (k, v) in values {
        match parse_field_value(kind, k, v) {
            Ok(Value::Null) if create => {}
            Ok(v) => {
                fields.insert(k.clone(), v);
            }
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(fields)
    } else {
        Err(sinergi_core::CoreError::Invalid(problems).into())
    }
}

fn text(f: &Fields, k: &str) -> Option<String> {
    f.get(k).and_then(Value::as_str).map(str::to_string)
}

fn date(f: &Fields, k: &str) -> Option<chrono::NaiveDate> {
    f.get(k)
        .and_then(Value::as_str)
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> AppResult<AppInfo> {
    let data_dir = state.data_dir.display().to_string();
    let export_dir = state.export_dir.display().to_string();
    with_slot(&state, move |slot| {
        let version = env!("CARGO_PKG_VERSION").to_string();
        Ok(match slot.as_ref() {
            // Locked: nothing of the store can be read before the PIN.
            None => AppInfo {
                version,
                data_dir,
                export_dir,
                today: chrono::Local::now().date_naive().to_string(),
                enrollment: None,
                locked: true,
                encrypted: true,
            },
            Some(s) => AppInfo {
                version,
                data_dir,
                export_dir,
                today: s.today().to_string(),
                enrollment: match s.enrollment()? {
                    Some(e) => Some(EnrollmentDto::new(e, s.insecure_http()?)),
                    None => None,
                },
                locked: false,
                encrypted: s.is_encrypted(),
            },
        })
    })
    .await
}

/// Open the encrypted store with the user's PIN (`wrong_pin` leaves it locked).
#[tauri::command]
pub async fn unlock(state: State<'_, AppState>, pin: String) -> AppResult<()> {
    let dir = state.data_dir.clone();
    with_slot(&state, move |slot| unlock_slot(slot, &dir, &pin)).await
}

/// Set the PIN of a plain store (the headless client's, `current` empty) or change it (the
/// current PIN needed): only the key file changes.
#[tauri::command]
pub async fn change_pin(
    state: State<'_, AppState>,
    current: Option<String>,
    new: String,
) -> AppResult<()> {
    with_store(&state, move |s| {
        let current = current.as_deref().filter(|c| !c.is_empty());
        Ok(s.set_pin(current, &new)?)
    })
    .await
}

/// The enrollment form, as the screen sends it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollForm {
    server_url: String,
    user: String,
    password: String,
    device_name: String,
    pin: String,
    /// The server certificate's fingerprint to pin (https:// only), if given.
    tls_fingerprint: Option<String>,
    /// Plain http:// to another machine, explicitly allowed.
    insecure_http: bool,
}

#[tauri::command]
pub async fn enroll(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    form: EnrollForm,
) -> AppResult<SyncReportDto> {
    let EnrollForm {
        server_url,
        user,
        password,
        device_name,
        pin,
        tls_fingerprint,
        insecure_http,
    } = form;
    with_store(&state, move |s| {
        keyfile::check_pin(&pin)?;
        let url = server_url.trim().trim_end_matches('/').to_string();
        let transport = HttpTransport::with_trust(
            &url,
            core_sync::Trust {
                ca_pem: None,
                pin: tls_fingerprint.filter(|f| !f.trim().is_empty()),
                insecure_http,
            },
        )?;
        let req = EnrollRequest {
            user: user.trim().to_string(),
            password,
            device_name: device_name.trim().to_string(),
            device_key: None,
        };
        let mut progress = |r: &core_sync::SyncReport| {
            let _ = app.emit("sync-progress", SyncReportDto::from(r));
        };
        protect_before_enroll(s, &pin)?;
        let (_, report) = core_sync::enroll(s, &transport, &url, &req, &mut progress)?;
        Ok(SyncReportDto::from(&report))
    })
    .await
}

/// What an enrollment file says (its server, user and key), shown before it is opened.
#[tauri::command]
pub async fn preview_bundle(path: String) -> AppResult<BundlePreviewDto> {
    let path = PathBuf::from(path.trim());
    let preview = core_sync::preview_bundle(&path)?;
    Ok(BundlePreviewDto::from(&preview))
}

/// First run without a link: open the enrollment file the puskesmas made for this device.
#[tauri::command]
pub async fn open_bundle(
    state: State<'_, AppState>,
    path: String,
    pin: String,
) -> AppResult<SyncReportDto> {
    let path = PathBuf::from(path.trim());
    with_store(&state, move |s| {
        protect_before_enroll(s, &pin)?;
        let (_, report, _) = core_sync::open_bundle(s, &path)?;
        Ok(SyncReportDto::from(&report))
    })
    .await
}

/// Every pregnancy on the device, the running ones first.
#[tauri::command]
pub async fn pregnancy_register(state: State<'_, AppState>) -> AppResult<Vec<PregnancyDto>> {
    with_store(&state, |s| {
        Ok(s.pregnancy_register()?
            .iter()
            .map(PregnancyDto::from)
            .collect())
    })
    .await
}

/// One pregnancy with its visits.
#[tauri::command]
pub async fn pregnancy_page(state: State<'_, AppState>, id: String) -> AppResult<PregnancyPageDto> {
    let id = parse_id(&id, "pregnancy")?;
    with_store(&state, move |s| {
        Ok(PregnancyPageDto::from(&s.pregnancy_page(id)?))
    })
    .await
}

#[tauri::command]
pub async fn list_records(state: State<'_, AppState>, kind: String) -> AppResult<Vec<RecordDto>> {
    let kind = parse_kind(&kind)?;
    with_store(&state, move |s| {
        Ok(s.list(kind)?.into_iter().map(RecordDto::from).collect())
    })
    .await
}

#[tauri::command]
pub async fn get_record(state: State<'_, AppState>, id: String) -> AppResult<RecordDto> {
    let id = parse_id(&id, "id")?;
    with_store(&state, move |s| {
        s.get(id)?
            .map(RecordDto::from)
            .ok_or_else(|| sinergi_core::CoreError::NotFound(id.to_string()).into())
    })
    .await
}

#[tauri::command]
pub async fn children_of(
    state: State<'_, AppState>,
    parent: String,
    kind: String,
) -> AppResult<Vec<RecordDto>> {
    let parent = parse_id(&parent, "parent")?;
    let kind = parse_kind(&kind)?;
    with_store(&state, move |s| {
        Ok(s.children_of(parent, kind)?
            .into_iter()
            .map(RecordDto::from)
            .collect())
    })
    .await
}

#[tauri::command]
pub async fn create_record(
    state: State<'_, AppState>,
    kind: String,
    values: BTreeMap<String, String>,
) -> AppResult<EditResult> {
    let kind = parse_kind(&kind)?;
    let fields = typed_fields(kind, &values, true)?;
    with_store(&state, move |s| Ok(s.create(kind, fields)?.into())).await
}

#[tauri::command]
pub async fn update_record(
    state: State<'_, AppState>,
    kind: String,
    id: String,
    values: BTreeMap<String, String>,
) -> AppResult<EditResult> {
    let kind = parse_kind(&kind)?;
    let id = parse_id(&id, "id")?;
    let fields = typed_fields(kind, &values, false)?;
    with_store(&state, move |s| Ok(s.update(kind, id, fields)?.into())).await
}

/// Save a measurement and return the core's verdict on it at once.
#[tauri::command]
pub async fn add_measurement(
    state: State<'_, AppState>,
    child_id: String,
    values: BTreeMap<String, String>,
) -> AppResult<MeasureResult> {
    let child = parse_id(&child_id, "child_id")?;
    let mut fields = typed_fields(Kind::Measurement, &values, true)?;
    fields.insert("child_id".into(), Value::from(child.to_string()));
    with_store(&state, move |s| {
        let out = s.create(Kind::Measurement, fields)?;
        let assessment = s.assess_measurement(out.id);
        Ok(MeasureResult {
            id: out.id.to_string(),
            warnings: out.warnings.iter().map(WarningDto::from).collect(),
            assessment: assessment.as_ref().ok().map(AssessmentDto::from),
            assessment_error: assessment.err().map(|e| e.to_string()),
        })
    })
    .await
}

/// Children still in the register (not moved, dead or merged), with this month's progress.
#[tauri::command]
pub async fn day_list(state: State<'_, AppState>) -> AppResult<DayList> {
    with_store(&state, |s| {
        let month = YearMonth::of(s.today());
        let children = s.day_list(month)?.into_iter().map(DayChild::from).collect();
        Ok(DayList {
            month: month.to_string(),
            children,
        })
    })
    .await
}

/// The child, its measurements each with its verdict, doses given and due today, referrals.
#[tauri::command]
pub async fn child_page(state: State<'_, AppState>, id: String) -> AppResult<ChildPage> {
    let id = parse_id(&id, "child")?;
    with_store(&state, move |s| {
        let child = s
            .get(id)?
            .filter(|r| r.kind == Kind::Child)
            .ok_or_else(|| sinergi_core::CoreError::NotFound(format!("child {id}")))?;
        let mut measurements: Vec<MeasurementRow> = s
            .children_of(id, Kind::Measurement)?
            .into_iter()
            .map(|m| MeasurementRow {
                assessment: s
                    .assess_measurement(m.id)
                    .ok()
                    .as_ref()
                    .map(AssessmentDto::from),
                record: m.into(),
            })
            .collect();
        measurements.sort_by(|a, b| {
            let d = |r: &MeasurementRow| text(&r.record.fields, "date").unwrap_or_default();
            d(a).cmp(&d(b))
        });
        let immunizations = s.children_of(id, Kind::Immunization)?;
        let vitamin_a = s.children_of(id, Kind::VitaminA)?;
        let schedule = growth::schedule();
        let mut received: Vec<Received> = immunizations
            .iter()
            .filter_map(|r| {
                Some(Received {
                    code: text(&r.fields, "vaccine")?,
                    date: date(&r.fields, "date")?,
                })
            })
            .collect();
        received.extend(vitamin_a.iter().filter_map(|r| {
            let code = match text(&r.fields, "capsule")?.as_str() {
                "biru" => schedule.vitamin_a.blue.code.clone(),
                _ => schedule.vitamin_a.red.code.clone(),
            };
            Some(Received {
                code,
                date: date(&r.fields, "date")?,
            })
        }));
        let due = match date(&child.fields, "birth_date") {
            Some(birth) => growth::due_items(birth, s.today(), &received, &[])
                .iter()
                .map(DueDto::from)
                .collect(),
            None => Vec::new(),
        };
        let referrals = s
            .list(Kind::Referral)?
            .into_iter()
            .filter(|r| text(&r.fields, "child_id").as_deref() == Some(&id.to_string()))
            .map(RecordDto::from)
            .collect();
        Ok(ChildPage {
            child: child.into(),
            measurements,
            immunizations: immunizations.into_iter().map(RecordDto::from).collect(),
            vitamin_a: vitamin_a.into_iter().map(RecordDto::from).collect(),
            referrals,
            due,
        })
    })
    .await
}

const DAYS_PER_MONTH: f64 = 30.4375;

/// The WHO curves at -3..+3 SD from the core's tables: `wfa` weight-for-age and `lhfa`
/// length/height-for-age by month (`from`..`to`), `wflh` weight-for-length (below 24 months)
/// or -height by cm (`from`..`to`).
#[tauri::command]
pub fn growth_curves(
    sex: String,
    index: String,
    from: f64,
    to: f64,
    height: Option<bool>,
) -> AppResult<GrowthCurves> {
    let sx: Sex = serde_json::from_value(Value::from(sex.clone())).map_err(|_| {
        AppError::invalid(
            "invalid_value",
            "sex",
            "Jenis kelamin harus L atau P".into(),
            "Sex must be L or P".into(),
        )
    })?;
    let (table, keys): (&tables::KeyedTable, Vec<(f64, u32)>) = match index.as_str() {
        "wfa" | "lhfa" => {
            let t: &tables::KeyedTable = if index == "wfa" {
                &tables::WEIGHT_FOR_AGE
            } else {
                &tables::LENGTH_FOR_AGE
            };
            let mut keys = Vec::new();
            let mut m = from.max(0.0);
            while m <= to.min(60.0) + 1e-9 {
                keys.push((m, (m * DAYS_PER_MONTH).round() as u32));
                m += 0.5;
            }
            (t, keys)
        }
        "wflh" => {
            let t: &tables::KeyedTable = if height.unwrap_or(false) {
                &tables::WEIGHT_FOR_HEIGHT
            } else {
                &tables::WEIGHT_FOR_LENGTH
            };
            let mut keys = Vec::new();
            let mut cm = from;
            while cm <= to + 1e-9 {
                keys.push((cm, (cm * 10.0).round() as u32));
                cm += 0.5;
            }
            (t, keys)
        }
        other => {
            return Err(AppError::invalid(
                "invalid_value",
                "index",
                format!("Indeks grafik tidak dikenal: {other}"),
                format!("Unknown chart index: {other}"),
            ))
        }
    };
    let mut x = Vec::new();
    let mut sd = vec![Vec::new(); 7];
    for (xv, key) in keys {
        if let Some(lms) = table.get(sx, key) {
            x.push(xv);
            for (i, k) in (-3..=3).enumerate() {
                sd[i].push((zscore::sd_value(lms, k as f64) * 100.0).round() / 100.0);
            }
        }
    }
    Ok(GrowthCurves { index, sex, x, sd })
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> AppResult<SyncStatus> {
    with_store(&state, |s| {
        Ok(SyncStatus::new(s.sync_state()?, s.refused()?))
    })
    .await
}

/// Push pending edits and pull changes; `sync-progress` events carry the running totals.
#[tauri::command]
pub async fn sync_now(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
) -> AppResult<SyncReportDto> {
    with_store(&state, move |s| {
        // Trusts the CA the device was enrolled with, if any.
        let transport = HttpTransport::for_store(s)?;
        let mut progress = |r: &core_sync::SyncReport| {
            let _ = app.emit("sync-progress", SyncReportDto::from(r));
        };
        let report = core_sync::sync(s, &transport, &SyncOptions::default(), &mut progress)?;
        Ok(SyncReportDto::from(&report))
    })
    .await
}

/// Write pending edits to a bundle file in the export folder.
#[tauri::command]
pub async fn export_bundle(state: State<'_, AppState>) -> AppResult<FileWritten> {
    let dir = state.export_dir.clone();
    with_store(&state, move |s| {
        std::fs::create_dir_all(&dir).map_err(sinergi_core::CoreError::from)?;
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let path = dir.join(format!("sinergi-kirim-{stamp}.sinergi"));
        let count = core_sync::export_bundle(s, &path)?;
        Ok(FileWritten {
            path: path.display().to_string(),
            count,
        })
    })
    .await
}

/// Apply a reply bundle from the puskesmas.
#[tauri::command]
pub async fn import_reply(state: State<'_, AppState>, path: String) -> AppResult<SyncReportDto> {
    let path = PathBuf::from(path.trim());
    with_store(&state, move |s| {
        Ok(SyncReportDto::from(&core_sync::import_reply(s, &path)?))
    })
    .await
}

#[tauri::command]
pub async fn resolve_conflict(
    state: State<'_, AppState>,
    id: String,
    choice: String,
) -> AppResult<EditResult> {
    let id = parse_id(&id, "conflict")?;
    let choice = match choice.as_str() {
        "winning" => Choice::Winning,
        "losing" => Choice::Losing,
        _ => {
            return Err(AppError::invalid(
                "invalid_choice",
                "choice",
                "Pilih salah satu nilai".into(),
                "Choose one of the values".into(),
            ))
        }
    };
    with_store(&state, move |s| Ok(s.resolve_conflict(id, choice)?.into())).await
}

#[tauri::command]
pub async fn merge_duplicate(
    state: State<'_, AppState>,
    id: String,
    keep: String,
) -> AppResult<EditResult> {
    let id = parse_id(&id, "duplicate")?;
    let keep = parse_id(&keep, "keep")?;
    with_store(&state, move |s| Ok(s.merge_duplicate(id, keep)?.into())).await
}

/// The posyandu and desa this device knows (for the report's area).
#[tauri::command]
pub async fn places(state: State<'_, AppState>) -> AppResult<Vec<Place>> {
    with_store(&state, |s| {
        let mut out = Vec::new();
        for (kind, level) in [(Kind::Desa, "desa"), (Kind::Posyandu, "posyandu")] {
            for r in s.list(kind)? {
                out.push(Place {
                    id: r.id.to_string(),
                    level: level.into(),
                    name: text(&r.fields, "name").unwrap_or_default(),
                });
            }
        }
        Ok(out)
    })
    .await
}

fn report_args(s: &LocalStore, req: &ReportRequest) -> AppResult<(YearMonth, Level)> {
    let month: YearMonth = req.month.parse().map_err(|e: report::BadMonth| {
        AppError::invalid("invalid_month", "month", e.to_string(), e.to_string())
    })?;
    let id = |what: &str| parse_id(req.id.as_deref().unwrap_or_default(), what);
    let level = match req.level.as_str() {
        "posyandu" => Level::Posyandu(id("posyandu")?),
        "desa" => Level::Desa(id("desa")?),
        "puskesmas" => match s.enrollment()? {
            Some(e) => Level::Puskesmas(e.puskesmas_id),
            None => Level::All,
        },
        _ => Level::All,
    };
    Ok((month, level))
}

fn build_report(s: &LocalStore, req: &ReportRequest) -> AppResult<report::MonthlyReport> {
    let (month, level) = report_args(s, req)?;
    let input = ReportInput::from_store(s)?;
    if !input.knows(&level) {
        return Err(AppError::invalid(
            "unknown_area",
            "level",
            "Wilayah laporan tidak dikenal di perangkat ini".into(),
            "This device does not know the report's area".into(),
        ));
    }
    Ok(report::build(&input, month, level))
}

#[tauri::command]
pub async fn report_view(state: State<'_, AppState>, req: ReportRequest) -> AppResult<ReportView> {
    with_store(&state, move |s| {
        let r = build_report(s, &req)?;
        Ok(ReportView {
            month: r.month.to_string(),
            month_name: r.month.name_id(),
            scope: r.scope.describe(),
            skdn_rows: r.skdn.rows.iter().map(SkdnRowDto::from).collect(),
            skdn_total: SkdnDto::from(&r.skdn.total),
            warnings: r
                .warnings
                .iter()
                .map(|w| WarningDto {
                    code: w.code.clone(),
                    message: w.message.clone(),
                    message_en: w.message_en.clone(),
                })
                .collect(),
        })
    })
    .await
}

/// Write the month's report (every table) as XLSX, PDF or CSV into the export folder.
#[tauri::command]
pub async fn export_report(
    state: State<'_, AppState>,
    req: ReportRequest,
    format: String,
) -> AppResult<FileWritten> {
    let format: Format = format
        .parse()
        .map_err(|e: String| AppError::invalid("invalid_format", "format", e.clone(), e))?;
    let dir = state.export_dir.clone();
    with_store(&state, move |s| {
        let r = build_report(s, &req)?;
        std::fs::create_dir_all(&dir).map_err(sinergi_core::CoreError::from)?;
        let path = dir.join(format!(
            "laporan-{}-{}.{}",
            r.month,
            req.level,
            format.extension()
        ));
        report::write(&r, format, &path)?;
        Ok(FileWritten {
            path: path.display().to_string(),
            count: 1,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_pin_changes_nothing_and_a_good_one_encrypts_before_enrolling() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = LocalStore::open(dir.path()).unwrap();
        let e = protect_before_enroll(&mut s, "123").unwrap_err();
        assert_eq!(e.code, "pin_too_short");
        assert_eq!(e.field.as_deref(), Some("pin"));
        assert!(!keyfile::is_encrypted(dir.path()) && !s.is_encrypted());

        protect_before_enroll(&mut s, "246810").unwrap();
        assert!(keyfile::is_encrypted(dir.path()) && s.is_encrypted());
        // A second attempt (the first found no link) needs the same PIN.
        protect_before_enroll(&mut s, "246810").unwrap();
        let e = protect_before_enroll(&mut s, "135791").unwrap_err();
        assert_eq!(e.code, "wrong_pin");
    }

    #[test]
    fn a_locked_store_opens_only_with_its_pin() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = LocalStore::open(dir.path()).unwrap();
        s.set_pin(None, "246810").unwrap();
        drop(s);

        let mut slot: Option<LocalStore> = None;
        let e = unlock_slot(&mut slot, dir.path(), "000000").unwrap_err();
        assert_eq!(e.code, "wrong_pin");
        assert!(slot.is_none(), "still locked");
        unlock_slot(&mut slot, dir.path(), "246810").unwrap();
        assert!(slot.as_ref().is_some_and(LocalStore::is_encrypted));
        // Already open: nothing to do.
        unlock_slot(&mut slot, dir.path(), "whatever").unwrap();
    }
}
