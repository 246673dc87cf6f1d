/** `--pick`: tick folders in a checkbox list that shows what each holds. Needs a terminal. */
import { t } from '../i18n/index.js';
import { planFolders, type Plan } from '../plan/index.js';
import type { SelectionOptions } from '../plan/types.js';
import { formatBytes, formatCount } from './table.js';

/** Escapes a folder name for a pattern: '/' inside a name is written '\/', wildcards are not PST names. */
function literalPath(path: string[]): string {
  return path.map((segment) => segment.replace(/\//g, '\\/')).join('/');
}

/**
 * Returns a selection naming exactly the ticked folders: each ticked one by its path, each unticked one
 * below a ticked one excluded by its path (a plain path takes subfolders with it).
 */
export async function pickFolders(plan: Plan, selection: SelectionOptions): Promise<SelectionOptions> {
  const folders = [...planFolders(plan.root)].filter((folder) => folder.path.length > 0);
  // Loaded only when a list is shown: the prompt library is large and most runs never pick.
  const { checkbox } = await import('@inquirer/prompts');
  const ticked = await checkbox({
    message: t('pick.message'),
    pageSize: 20,
    choices: folders.map((folder) => ({
      value: folder.nid,
      checked: folder.selected,
      name: `${'  '.repeat(folder.path.length - 1)}${folder.path[folder.path.length - 1]}  (${formatCount(folder.send)}, ${formatBytes(folder.sendBytes)})`,
    })),
  });
  const chosen = new Set(ticked);
  const isChosen = (path: string[]) =>
    folders.some((folder) => chosen.has(folder.nid) && folder.path.length <= path.length && folder.path.every((s, i) => s === path[i]));
  return {
    ...selection,
    folders: folders.filter((folder) => chosen.has(folder.nid)).map((folder) => literalPath(folder.path)),
    exclude: folders
      .filter((folder) => !chosen.has(folder.nid) && isChosen(folder.path.slice(0, -1)))
      .map((folder) => literalPath(folder.path)),
  };
}
