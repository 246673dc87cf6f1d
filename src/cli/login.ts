/** `pst2imap login` and `logout`: Microsoft sign-in for Outlook.com and Microsoft 365 (XOAUTH2). */
import type { CommandModule } from 'yargs';
import { accessToken, defaultCachePath, deviceCodeLogin, resolveClientId, signOut, tenantFor, type Tenant } from '../auth/oauth.js';
import { EXIT } from '../errors.js';
import { t } from '../i18n/index.js';
import type { CliIO } from './output.js';

interface LoginArgs {
  user: string;
  provider?: string;
  tenant?: Tenant;
  'client-id'?: string;
}

function withAccountOptions<T>(yargs: import('yargs').Argv<T>) {
  return yargs
    .option('user', { type: 'string', demandOption: true, describe: t('cli.opt.user') })
    .option('provider', { type: 'string', choices: ['outlook', 'office365'], describe: t('cli.opt.provider') })
    .option('tenant', {
      type: 'string',
      choices: ['consumers', 'organizations', 'common'] as const,
      describe: t('cli.opt.tenant'),
    })
    .option('client-id', { type: 'string', describe: t('cli.opt.clientId') });
}

export function loginCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, LoginArgs> {
  return {
    command: 'login',
    describe: t('cli.cmd.login'),
    builder: (yargs) => withAccountOptions(yargs) as never,
    handler: async (args) => {
      const settings = {
        clientId: await resolveClientId(args['client-id'], io.env),
        tenant: args.tenant ?? tenantFor(args.user, args.provider),
        cachePath: defaultCachePath(io.env),
      };
      const signedIn = await deviceCodeLogin(settings, args.user, (prompt) => {
        io.stderr.write(
          `${t('login.prompt', {
            url: prompt.verificationUri,
            code: prompt.userCode,
            minutes: Math.round(prompt.expiresInSeconds / 60),
          })}\n`,
        );
      });
      // Proves the cache works for the next command before saying so.
      await accessToken(settings, signedIn.username);
      io.stdout.write(`${t('login.done', { user: signedIn.username, file: settings.cachePath })}\n`);
      setExitCode(EXIT.ok);
    },
  };
}

export function logoutCommand(io: CliIO, setExitCode: (code: number) => void): CommandModule<object, LoginArgs> {
  return {
    command: 'logout',
    describe: t('cli.cmd.logout'),
    builder: (yargs) =>
      yargs.option('user', { type: 'string', demandOption: true, describe: t('cli.opt.user') }) as never,
    handler: async (args) => {
      // Forgetting an account touches only the local cache: MSAL wants a client ID set, never uses it here.
      const settings = { clientId: '00000000-0000-0000-0000-000000000000', tenant: 'common' as const, cachePath: defaultCachePath(io.env) };
      const removed = await signOut(settings, args.user);
      io.stdout.write(`${t(removed ? 'logout.done' : 'logout.none', { user: args.user })}\n`);
      setExitCode(EXIT.ok);
    },
  };
}
