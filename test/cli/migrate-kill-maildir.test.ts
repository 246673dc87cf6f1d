/** kill -9 at a dozen points of a migration to a Maildir, each followed by a new run (see kill-runs.ts). */
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { KILL_PASSWORD, killAndResume, referenceRun } from '../support/kill-runs.js';

let server: DovecotServer;
beforeAll(async () => {
  server = await startDovecot({ users: { reference: KILL_PASSWORD } });
  await referenceRun(server);
});
afterAll(() => server.stop());

test('kill -9 at twelve points, each followed by migrate or resume, to a Maildir: every message once', () => killAndResume(server, 'maildir'));
