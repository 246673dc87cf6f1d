/**
 * Options shared by the commands, validated once here at the edge and handed down typed
 * (STYLE: configuration flows in one object).
 */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import type { SelectionOptions } from '../plan/types.js';

export interface SelectionArgs {
  folder?: string[];
  exclude?: string[];
  'target-root'?: string;
  map?: string[];
  special?: boolean;
  since?: string;
  before?: string;
  'max-size'?: string;
  pick?: boolean;
  codepage?: number;
}

/** Declares the selection options `plan`, `migrate` and `export` share. */
export function withSelectionOptions<T>(yargs: Argv<T>): Argv<T & SelectionArgs> {
  return yargs
    .option('folder', { type: 'string', array: true, describe: t('cli.opt.folder') })
    .option('exclude', { type: 'string', array: true, describe: t('cli.opt.exclude') })
    .option('target-root', { type: 'string', describe: t('cli.opt.targetRoot') })
    .option('map', { type: 'string', array: true, describe: t('cli.opt.map') })
    .option('special', { type: 'boolean', default: true, describe: t('cli.opt.special') })
    .option('since', { type: 'string', describe: t('cli.opt.since') })
    .option('before', { type: 'string', describe: t('cli.opt.before') })
    .option('max-size', { type: 'string', describe: t('cli.opt.maxSize') })
    .option('pick', { type: 'boolean', default: false, describe: t('cli.opt.pick') })
    .option('codepage', { type: 'number', describe: t('cli.opt.codepage') }) as Argv<T & SelectionArgs>;
}

export function selectionFromArgs(args: SelectionArgs): SelectionOptions {
  const since = args.since === undefined ? null : parseDay(args.since, 'since');
  const before = args.before === undefined ? null : parseDay(args.before, 'before');
  if (since && before && since >= before) {
    throw new UsageError({
      problem: t('usage.datesReversed', { since: args.since!, before: args.before! }),
    });
  }
  return {
    folders: args.folder ?? [],
    exclude: args.exclude ?? [],
    targetRoot: (args['target-root'] ?? '').replace(/^\/+|\/+$/g, ''),
    map: (args.map ?? []).map(parseMapping),
    mergeSpecial: args.special !== false,
    since,
    before,
    maxSize: args['max-size'] === undefined ? null : parseSize(args['max-size'], 'max-size'),
  };
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** '35MB', '500k', '1.5GB', '1048576': binary units, as mail providers state their limits. */
export function parseSize(value: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError({ problem: t('usage.badSize', { value, option }) });
  return Math.floor(Number(match[1]) * unit);
}

/**
 * 'YYYY-MM-DD' is a day in the user's own time zone (that is how people think of "mail since April");
 * a full ISO timestamp is taken as written.
 */
export function parseDay(value: string, option: string): Date {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = day
    ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3]))
    : /^\d{4}-\d{2}-\d{2}T/.test(value)
      ? new Date(value)
      : new Date(NaN);
  const valid =
    !Number.isNaN(date.getTime()) &&
    (!day || (date.getMonth() === Number(day[2]) - 1 && date.getDate() === Number(day[3])));
  if (!valid) throw new UsageError({ problem: t('usage.badDate', { value, option }) });
  return date;
}

/** 'Inbox/Old=Archive/2019'. The last '=' splits, so PST names may hold '=' but targets may not. */
export function parseMapping(value: string): { from: string; to: string } {
  const at = value.lastIndexOf('=');
  const from = value.slice(0, at).trim();
  const to = value.slice(at + 1).trim();
  if (at < 0 || !from || !to) throw new UsageError({ problem: t('usage.badMap', { value }) });
  return { from, to };
}

export function parsePositive(value: unknown, option: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new UsageError({ problem: t('usage.badRate', { option, value: String(value) }) });
  }
  return number;
}
