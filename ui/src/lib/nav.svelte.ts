// Which screen is shown. Plain state, no router: the app has no URLs to share.
export type Screen =
  | { name: "day" }
  | { name: "register" }
  | { name: "child"; id: string }
  | { name: "measure"; id: string }
  | { name: "sync" }
  | { name: "bidan" }
  | { name: "reports" }
  | { name: "pregnancies" }
  | { name: "register_woman" }
  | { name: "pregnancy"; id: string };

export const nav = $state<{ screen: Screen; flash: string | null }>({ screen: { name: "day" }, flash: null });

export function go(screen: Screen, flash: string | null = null): void {
  nav.screen = screen;
  nav.flash = flash;
  globalThis.scrollTo?.(0, 0);
}
