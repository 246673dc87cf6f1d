/**
 * Where a worker thread's script is. Under the test runner the calling module is TypeScript in src/ and
 * the worker runs from the build in dist/ (tests run after `npm run build`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `script` is the worker's built name beside the calling module, e.g. `./reader-worker.js`. */
export function workerScript(callerUrl: string, script: string): string {
  const path = fileURLToPath(new URL(script, callerUrl));
  if (!fileURLToPath(callerUrl).endsWith('.ts')) return path;
  const built = path.replace(/([/\\])src([/\\])(?!.*[/\\]src[/\\])/, '$1dist$2');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
  return built;
}
