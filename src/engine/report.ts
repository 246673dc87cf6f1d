/**
 * The report of a run, in JSON (schema pst2imap.report/1) and in text: the counts, and every item of the
 * run's selection that was skipped or failed, with its folder, subject, date and the reason (the
 * server's own words for a refusal). No message content and no secret: subjects and the journal's
 * (already redacted) reasons only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobView } from '../checkpoint/index.js';
import { redactSecrets } from '../checkpoint/redact.js';
import type { MigrateSummary } from './events.js';
import { dateText } from './run-plan.js';

export const REPORT_SCHEMA = 'pst2imap.report/1';

export interface ReportInput {
  dir: string;
  job: JobView;
  summary: MigrateSummary;
  items: Map<number, { nid: number; folder: { path: string[] }; mailbox: string; subject: string; date: number | null }>;
  pstPath: string;
  target: string;
}

export interface ReportItem {
  nid: number;
  state: 'skipped' | 'failed' | 'pending' | 'in_flight';
  folder: string[];
  target: string;
  subject: string;
  date: string | null;
  reason: string;
  attempts: number;
}

/** Writes report-job<N>-<time>.json and .txt into `dir`; returns their paths. */
export function writeReport(input: ReportInput): string[] {
  const problems: ReportItem[] = [];
  for (const item of input.job.items({ state: ['skipped', 'failed', 'in_flight'] })) {
    const known = input.items.get(item.nid);
    if (!known) continue;
    problems.push({
      nid: item.nid,
      state: item.state as ReportItem['state'],
      folder: item.folderPath,
      target: item.targetMailbox,
      subject: known.subject,
      date: dateText(known.date),
      reason: redactSecrets(item.state === 'skipped' ? (item.skipReason ?? '') : (item.lastError ?? 'no answer from the server yet: looked up on the next run')),
      attempts: item.attempts,
    });
  }
  const created = new Date();
  const stamp = created.toISOString().replace(/[:.]/g, '-');
  mkdirSync(input.dir, { recursive: true, mode: 0o700 });
  const base = join(input.dir, `report-job${input.summary.jobId}-${stamp}`);
  const { reportFiles: _files, ...counts } = input.summary;
  const json = {
    schema: REPORT_SCHEMA,
    createdAt: created.toISOString(),
    pst: input.pstPath,
    target: input.target,
    ...counts,
    items: problems,
  };
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
  const lines = [
    `pst2imap report, job ${input.summary.jobId}, ${created.toISOString()}`,
    `${input.pstPath} -> ${input.target}`,
    `Run: ${input.summary.status}; sent ${input.summary.sent} (${input.summary.sentBytes} bytes), found already sent ${input.summary.recovered}, skipped ${input.summary.skipped}, failed ${input.summary.failed}, remaining ${input.summary.remaining}`,
    `Job: done ${input.summary.totals.done}, pending ${input.summary.totals.pending}, in flight ${input.summary.totals.in_flight}, skipped ${input.summary.totals.skipped}, failed ${input.summary.totals.failed}, total ${input.summary.totals.total}`,
    '',
    problems.length === 0 ? 'No item was skipped or failed.' : `Items skipped or failed (${problems.length}):`,
    ...problems.map(
      (item) =>
        `${item.state}\t${item.folder.join('/')}\t${item.date ?? '-'}\t${item.subject.replace(/\s+/g, ' ')}\t${item.reason.replace(/\s+/g, ' ')}`,
    ),
    '',
  ];
  writeFileSync(`${base}.txt`, lines.join('\n'), { mode: 0o600 });
  return [`${base}.json`, `${base}.txt`];
}
