/**
 * What a result file of `npm run bench` holds (bench/results/*.json): written by bench/index.ts, read by
 * bench/report.ts. Files written before a field existed lack it: `report.ts` reads them as they are.
 */
import type { AppendRun } from './append.js';
import type { PingResult, ThroughputResult } from './proxy-check.js';

/** A result file, without the options of the run (their shape is bench/index.ts's). */
export interface ResultFile {
  startedAt: string;
  finishedAt?: string;
  machine: Record<string, string | number>;
  load: { at: string; loadavg: number[] }[];
  notes: string[];
  proxy?: { pings: PingResult[]; throughput: ThroughputResult[] };
  upload?: UploadRow[];
  read?: ReadRow[];
  pipeline?: PipelineRow[];
  rss?: RssRow[];
}

export interface UploadRow extends Omit<AppendRun, 'client'> {
  rttMs: number;
  measuredRttMs: number | null;
  client: string;
  /** Whole run (connect to last answer) over mbsync's whole run, same RTT and connections: > 1 is faster. */
  vsMbsync: number | null;
  /** connections / RTT, messages/s; null at 0 ms. */
  boundMessagesPerSecond: number | null;
  vsBound: number | null;
  mbsyncNoopSeconds?: number;
  mbsyncRetries?: number;
  repetitions?: number;
}

export interface ReadRow {
  input: string;
  inputBytes: number;
  tool: string;
  messages: number | null;
  outputBytes: number | null;
  seconds: number | null;
  messagesPerSecond: number | null;
  pstMbPerSecond: number | null;
  peakRssMb: number | null;
  exitCode: number | null;
  /** export over readpst, messages/s: the median of the turns' ratios; null when either is missing or they
   * did not write the same count. */
  ratio: number | null;
  /** Each turn's ratio (readpst and export run in turns). */
  pairRatios?: number[];
  note: string;
}

export interface PipelineRow {
  input: string;
  rttMs: number;
  messages: number;
  readpstSeconds: number;
  maildirSeconds: number;
  mbsyncSeconds: number;
  mbsyncOverheadSeconds: number;
  baselineSeconds: number;
  baselineMessagesPerSecond: number;
  migrateSeconds: number | null;
  migratePeakRssMb: number | null;
  migrateStored: number | null;
  /** baseline time over migrate time: > 1 means pst2imap is faster. */
  ratio: number | null;
  note: string;
}

export interface RssRow {
  input: string;
  inputBytes: number;
  tool: string;
  peakRssMb: number | null;
  note: string;
}
