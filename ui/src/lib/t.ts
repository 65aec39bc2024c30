// Does a translation key exist? (svelte-i18n returns the key itself when it is missing.)
import { get } from "svelte/store";
import { _ } from "svelte-i18n";

export function has(key: string): boolean {
  return get(_)(key) !== key;
}
