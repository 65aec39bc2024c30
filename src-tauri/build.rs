// The app's commands are declared here so each needs an explicit permission in
// capabilities/default.json (nothing the UI does not use is reachable from the webview).
const COMMANDS: &[&str] = &[
    "app_info",
    "unlock",
    "change_pin",
    "enroll",
    "preview_bundle",
    "open_bundle",
    "pregnancy_register",
    "pregnancy_page",
    "list_records",
    "get_record",
    "children_of",
    "create_record",
    "update_record",
    "add_measurement",
    "day_list",
    "child_page",
    "growth_curves",
    "sync_status",
    "sync_now",
    "export_bundle",
    "import_reply",
    "resolve_conflict",
    "merge_duplicate",
    "places",
    "report_view",
    "export_report",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
