import { parseDay, parseMapping, parseSize, selectionFromArgs } from '../../src/cli/options.js';
import { Pst2ImapError } from '../../src/errors.js';
import { setLanguage } from '../../src/i18n/index.js';

function usageProblem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Pst2ImapError);
    expect((error as Pst2ImapError).code).toBe('E_USAGE');
    return String((error as Pst2ImapError).params.problem);
  }
  throw new Error('expected a usage error');
}

describe('parseSize', () => {
  it.each([
    ['1048576', 1048576],
    ['500k', 512000],
    ['35MB', 35 * 1024 * 1024],
    ['1.5GB', 1.5 * 1024 ** 3],
    [' 2 mib ', 2 * 1024 * 1024],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text, 'max-size')).toBe(bytes);
  });

  it.each(['', 'MB', '-3MB', '12 parsecs', '1e6'])('refuses %j with the option named', (text) => {
    expect(usageProblem(() => parseSize(text, 'max-size'))).toContain('--max-size');
  });
});

describe('parseDay', () => {
  it('reads YYYY-MM-DD as local midnight', () => {
    const date = parseDay('2019-04-01', 'since');
    expect([date.getFullYear(), date.getMonth(), date.getDate(), date.getHours()]).toEqual([2019, 3, 1, 0]);
  });

  it('takes a full ISO timestamp as written', () => {
    expect(parseDay('2019-04-01T12:00:00Z', 'since').toISOString()).toBe('2019-04-01T12:00:00.000Z');
  });

  it.each(['2019-02-30', '2019-13-01', '01/04/2019', 'yesterday'])('refuses %s', (text) => {
    expect(usageProblem(() => parseDay(text, 'before'))).toContain('--before');
  });
});

describe('parseMapping', () => {
  it('splits at the last "=" so PST names may contain one', () => {
    expect(parseMapping('Inbox/a=b=Archive/2019')).toEqual({ from: 'Inbox/a=b', to: 'Archive/2019' });
    expect(parseMapping(' 受信トレイ/古い = Archive ')).toEqual({ from: '受信トレイ/古い', to: 'Archive' });
  });

  it.each(['Inbox', '=Archive', 'Inbox='])('refuses %j', (text) => {
    expect(usageProblem(() => parseMapping(text))).toContain(text);
  });
});

describe('selectionFromArgs', () => {
  it('turns arguments into one typed selection', () => {
    const selection = selectionFromArgs({
      folder: ['Inbox/**'],
      exclude: ['**/Old'],
      'target-root': '/PST/2019/',
      map: ['Inbox/Clients=Clients'],
      special: false,
      since: '2019-01-01',
      before: '2020-01-01',
      'max-size': '25MB',
    });
    expect(selection).toMatchObject({
      folders: ['Inbox/**'],
      exclude: ['**/Old'],
      targetRoot: 'PST/2019',
      map: [{ from: 'Inbox/Clients', to: 'Clients' }],
      mergeSpecial: false,
      maxSize: 25 * 1024 * 1024,
    });
    expect(selection.since!.getFullYear()).toBe(2019);
  });

  it('refuses a date range that selects nothing, in the chosen language', () => {
    setLanguage('ja');
    try {
      expect(usageProblem(() => selectionFromArgs({ since: '2020-01-01', before: '2019-01-01' }))).toContain(
        'より前ではありません',
      );
    } finally {
      setLanguage('en');
    }
  });
});
