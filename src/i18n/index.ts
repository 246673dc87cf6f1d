import { en, type MessageKey } from './en.js';
import { ja } from './ja.js';
import type { MessageParams } from '../errors.js';

export type Language = 'en' | 'ja';
export type { MessageKey };

const catalogues: Record<Language, Record<MessageKey, string>> = { en, ja };

let current: Language = 'en';

/**
 * The language for people's text: `--lang` when given, else the POSIX locale variables in their order of
 * precedence (LC_ALL, LC_MESSAGES, LANG), Japanese for any `ja*` locale, English otherwise.
 */
export function detectLanguage(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): Language {
  const wanted = explicit ?? env.LC_ALL ?? env.LC_MESSAGES ?? env.LANG ?? '';
  return wanted.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

export function setLanguage(language: Language): void {
  current = language;
}

export function language(): Language {
  return current;
}

/** The text of `key` in the current language, with `{name}` replaced by params.name. */
export function t(key: MessageKey, params: MessageParams = {}, lang: Language = current): string {
  const template = catalogues[lang][key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}
