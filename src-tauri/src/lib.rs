//! Sinergi app: a Tauri 2 shell whose commands are thin calls into sinergi-core.
//!
//! Data lives in the platform's app data folder (`SINERGI_DATA_DIR` overrides it, for tests and
//! for several devices on one machine); exported files (bundles, reports) go to the Downloads
//! folder when there is one (`SINERGI_EXPORT_DIR` overrides it).

mod commands;
pub mod dto;
pub mod error;

use sinergi_core::store::{keyfile, LocalStore};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::Manager;

/// The app's state: the device's local store, opened once. `None` while an encrypted store
/// waits for its PIN (every store command then answers `pin_required`; `unlock` opens it).
pub struct AppState {
    pub store: Arc<Mutex<Option<LocalStore>>>,
    pub data_dir: PathBuf,
    pub export_dir: PathBuf,
}

fn open_state(app: &tauri::App) -> Result<AppState, Box<dyn std::error::Error>> {
    let path = app.path();
    let data_dir = match std::env::var_os("SINERGI_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => path.app_data_dir()?,
    };
    let export_dir = match std::env::var_os("SINERGI_EXPORT_DIR") {
        Some(d) => PathBuf::from(d),
        None => path
            .download_dir()
            .ok()
            .filter(|d| d.is_dir())
            .unwrap_or_else(|| data_dir.join("ekspor")),
    };
    // An encrypted store stays shut until the user gives the PIN; a plain one (a new device, or
    // the headless client's demo folder) opens at once.
    let store = if keyfile::is_encrypted(&data_dir) {
        None
    } else {
        Some(LocalStore::open(&data_dir)?)
    };
    // Parse the WHO tables now, not at the first weighing.
    sinergi_core::growth::tables::init();
    Ok(AppState {
        store: Arc::new(Mutex::new(store)),
        data_dir,
        export_dir,
    })
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    tauri::Builder::default()
        .setup(|app| {
            let state = open_state(app)?;
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::unlock,
            commands::change_pin,
            commands::enroll,
            commands::preview_bundle,
            commands::open_bundle,
            commands::pregnancy_register,
            commands::pregnancy_page,
            commands::list_records,
            commands::get_record,
            commands::children_of,
            commands::create_record,
            commands::update_record,
            commands::add_measurement,
            commands::day_list,
            commands::child_page,
            commands::growth_curves,
            commands::sync_status,
            commands::sync_now,
            commands::export_bundle,
            commands::import_reply,
            commands::resolve_conflict,
            commands::merge_duplicate,
            commands::places,
            commands::report_view,
            commands::export_report,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Sinergi");
}
