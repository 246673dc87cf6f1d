/**
 * Bad input through the real executable, as a user meets it: one line saying what, where and what to do,
 * the documented exit code, no stack trace unless --debug, and nothing written.
 */
import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, sharedFixtures } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'pst2imap-bad-input-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function expectOneLineError(result: { code: number | null; stderr: string; stdout: string }, code: number, words: RegExp) {
  expect(result.code).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^pst2imap: /);
  expect(lines[0]).toMatch(words);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(result.stdout).toBe('');
}

/** The working folder holds exactly what the test put there: the run wrote nothing. */
function expectNothingWritten(before: string[]) {
  expect(readdirSync(work).sort()).toEqual(before);
}

describe('plan on bad input', () => {
  it('a missing file', async () => {
    const before = readdirSync(work).sort();
    const missing = join(work, 'nope.pst');
    expectOneLineError(await runCli(['plan', missing], { cwd: work }), 3, new RegExp(`${missing}: no such file`));
    expectNothingWritten(before);
  });

  it('a directory', async () => {
    expectOneLineError(await runCli(['plan', work], { cwd: work }), 3, /is a directory/);
  });

  it('an empty file', async () => {
    const empty = join(work, 'empty.pst');
    writeFileSync(empty, '');
    const before = readdirSync(work).sort();
    expectOneLineError(await runCli(['plan', empty], { cwd: work }), 3, /empty \(0 bytes\)/);
    expectNothingWritten(before);
  });

  it('a file that is not a PST', async () => {
    const random = join(work, 'random.pst');
    writeFileSync(random, randomBytes(4096));
    expectOneLineError(await runCli(['plan', random], { cwd: work }), 3, /not a PST or OST file/);
  });

  it('a truncated PST', async () => {
    const truncated = join(work, 'truncated.pst');
    copyFileSync(join(sharedFixtures, 'aspose-Outlook.pst'), truncated);
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    expectOneLineError(await runCli(['plan', truncated], { cwd: work }), 3, /truncated/);
  });

  it('a PST with "high" encryption', async () => {
    const high = join(work, 'high.pst');
    copyFileSync(join(sharedFixtures, 'hh-simple.pst'), high);
    // bCryptMethod: byte 513 of a Unicode header, 461 of an ANSI one ([MS-PST] 2.2.2.6).
    const fd = openSync(high, 'r+');
    const wVer = Buffer.alloc(2);
    readSync(fd, wVer, 0, 2, 10);
    writeSync(fd, Buffer.from([2]), 0, 1, wVer.readUInt16LE(0) >= 23 ? 513 : 461);
    closeSync(fd);
    expectOneLineError(await runCli(['plan', high], { cwd: work }), 3, /high" encryption/);
  });

  it('--debug adds the details', async () => {
    const result = await runCli(['plan', join(work, 'nope.pst'), '--debug'], { cwd: work });
    expect(result.code).toBe(3);
    expect(result.stderr.split('\n').length).toBeGreaterThan(2);
    expect(result.stderr).toContain('E_FILE_NOT_FOUND');
  });

  it('speaks Japanese with --lang ja or a Japanese locale', async () => {
    const missing = join(work, 'nope.pst');
    expectOneLineError(await runCli(['plan', missing, '--lang', 'ja'], { cwd: work }), 3, /ファイルが見つかりません/);
    expectOneLineError(await runCli(['plan', missing], { cwd: work, env: { LANG: 'ja_JP.UTF-8' } }), 3, /ファイルが見つかりません/);
  });

  it('usage problems are exit code 2 with the option named', async () => {
    const pst = join(sharedFixtures, 'hh-simple.pst');
    expectOneLineError(await runCli(['plan', pst, '--max-size', 'big'], { cwd: work }), 2, /--max-size/);
    expectOneLineError(await runCli(['plan', pst, '--since', '2019-02-30'], { cwd: work }), 2, /--since/);
    expectOneLineError(await runCli(['plan', pst, '--password', 'hunter2'], { cwd: work }), 2, /process list/);
    expectOneLineError(await runCli(['plan'], { cwd: work }), 2, /argument|引数/i);
  });
});
