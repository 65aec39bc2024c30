import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { setupI18n } from "./lib/i18n";
import { preload } from "./lib/api";

// Marks read by the start-up benchmark (src-tauri/tests/bench.rs).
performance.mark("main");
preload();
setupI18n();
const app = mount(App, { target: document.getElementById("app")! });
export default app;
