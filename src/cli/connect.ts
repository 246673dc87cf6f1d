/**
 * From the command line to a server connection: the target URL, the provider preset, and credentials
 * from the token cache (OAuth2) or a password source. Secrets stay in memory: never in argv, logs or
 * state.
 */
import type { Argv } from 'yargs';
import type { Tenant } from '../auth/oauth.js';
import { UsageError } from '../errors.js';
import { t } from '../i18n/index.js';
import { parseTargetUrl } from '../target/probe.js';
import type { Provider } from '../target/providers.js';
import type { CredentialSource } from '../target/imap.js';
import type { ImapConnectionOptions, TargetUrl } from '../target/types.js';
import type { CliIO } from './output.js';

export interface ConnectionArgs {
  to?: string;
  user?: string;
  password?: string;
  'password-file'?: string;
  auth?: 'oauth2' | 'password';
  'client-id'?: string;
  tenant?: Tenant;
  insecure: boolean;
  'allow-plaintext': boolean;
}

export function withConnectionOptions<T>(yargs: Argv<T>): Argv<T & ConnectionArgs> {
  return yargs
    .option('password-file', { type: 'string', describe: t('cli.opt.passwordFile2') })
    .option('auth', { type: 'string', choices: ['oauth2', 'password'] as const, describe: t('cli.opt.auth') })
    .option('client-id', { type: 'string', describe: t('cli.opt.clientId') })
    .option('tenant', { type: 'string', choices: ['consumers', 'organizations', 'common'] as const, describe: t('cli.opt.tenant') })
    .option('insecure', { type: 'boolean', default: false, describe: t('cli.opt.insecure') })
    .option('allow-plaintext', { type: 'boolean', default: false, describe: t('cli.opt.allowPlaintext') }) as Argv<T & ConnectionArgs>;
}

/** --to, --provider and --user, shared by the commands that reach a server. */
export function withTargetOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('to', { type: 'string', describe: t('cli.opt.to') })
    .option('provider', {
      type: 'string',
      choices: ['outlook', 'office365', 'generic'] as const,
      default: 'outlook' as const,
      describe: t('cli.opt.provider'),
    })
    .option('user', { type: 'string', describe: t('cli.opt.user') })
    // Declared only to refuse it with a reason: a password in argv shows in every user's `ps`.
    .option('password', { type: 'string', hidden: true, describe: t('cli.opt.password') });
}

/** Checks what can be checked before any work: a password on the command line, a target without user. */
export function checkConnectionArgs(args: ConnectionArgs): TargetUrl | null {
  if (args.password !== undefined) throw new UsageError({ problem: t('usage.passwordArgument') });
  if (args.to === undefined) return null;
  const target = parseTargetUrl(args.to);
  if (target.kind === 'imap' && !args.user) throw new UsageError({ problem: t('usage.needUser', { target: args.to }) });
  return target;
}

/** The connection to `target` with credentials for one sign-in (plan --to looks once). */
export async function resolveConnection(
  target: Extract<TargetUrl, { kind: 'imap' }>,
  args: ConnectionArgs,
  provider: Provider,
  io: CliIO,
): Promise<ImapConnectionOptions> {
  const { connection, credentials } = await resolveCredentials(target, args, provider, io);
  return { ...connection, auth: await credentials({ refresh: false }) };
}

/**
 * The connection settings to `target`, and a source of credentials asked at each connect, for commands
 * that connect more than once (migrate, verify). An OAuth2 token is fetched from the
 * token cache each time (MSAL refreshes it when it has expired, or when `refresh` says the server
 * refused it); a password is asked once and kept in memory only.
 */
export async function resolveCredentials(
  target: Extract<TargetUrl, { kind: 'imap' }>,
  args: ConnectionArgs,
  provider: Provider,
  io: CliIO,
): Promise<{ connection: Omit<ImapConnectionOptions, 'auth'>; credentials: CredentialSource }> {
  const user = args.user!;
  const method = args.auth ?? provider.auth;
  let credentials: CredentialSource;
  if (method === 'oauth2') {
    // Loaded here, not at start: MSAL is large and a password run never needs it (nor an OAuth2 run the prompt).
    const { accessToken, defaultCachePath, resolveClientId, tenantFor } = await import('../auth/oauth.js');
    const settings = {
      clientId: await resolveClientId(args['client-id'], io.env),
      tenant: args.tenant ?? tenantFor(user, provider.name),
      cachePath: defaultCachePath(io.env),
    };
    credentials = async ({ refresh }) => ({ accessToken: await accessToken(settings, user, { forceRefresh: refresh }) });
  } else {
    const { resolvePassword } = await import('../auth/password.js');
    const password = await resolvePassword({
      user,
      env: io.env,
      passwordFile: args['password-file'],
      interactive: Boolean(io.stdin.isTTY && io.stderr.isTTY),
    });
    credentials = async () => ({ password });
  }
  if (args.insecure) io.stderr.write(`pst2imap: ${t('warning', { message: t('warning.insecure', { server: `${target.host}:${target.port}` }) })}\n`);
  return {
    connection: {
      host: target.host,
      port: target.port,
      secure: target.secure,
      user,
      verifyCertificate: !args.insecure,
      allowPlaintext: args['allow-plaintext'],
      timeoutMs: 20_000,
    },
    credentials,
  };
}
