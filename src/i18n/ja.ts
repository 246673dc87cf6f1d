import type { MessageKey } from './en.js';

/** The Japanese message catalogue: the same keys as en.ts, the same `{name}` parameters. */
export const ja: Record<MessageKey, string> = {
  E_USAGE: '{problem}',
  E_FILE_NOT_FOUND: '{file}: ファイルが見つかりません。PST または OST ファイルのパスを確認してください。',
  E_IS_DIRECTORY: '{file}: フォルダーです。PST ファイルではありません。.pst または .ost ファイルそのもののパスを指定してください。',
  E_FILE_EMPTY: '{file}: ファイルが空です (0 バイト)。元の場所から PST をもう一度コピーしてください。',
  E_NOT_PST:
    '{file}: PST / OST ファイルではありません (!BDN 署名がありません)。Outlook が使っている .pst ファイル (ファイル > アカウント設定 > データ ファイル) を指定してください。',
  E_TRUNCATED:
    '{file}: ファイルが途中で切れています ({size} バイト、ヘッダーでは {expected} バイト)。もう一度コピーするか、Outlook の scanpst.exe で修復してください。',
  E_HIGH_ENCRYPTION:
    '{file}: Outlook の「高」暗号化が使われていて読めません。Outlook でフォルダーを新しい PST にエクスポート (ファイル > 開く/エクスポート > インポート/エクスポート) し、そのファイルを移行してください。',
  E_UNSUPPORTED_FORMAT: '{file}: 対応していない PST 形式 (バージョン {version}) です。Outlook で開き、新しい PST にエクスポートしてください。',
  E_PST_CORRUPT: '{file}: PST の構造が壊れています ({what})。Outlook の scanpst.exe で修復してから、もう一度実行してください。',
  E_ITEM_UNREADABLE: '{file}: 「{folder}」のアイテム {nid} を読めません ({what})。',
  E_CODEPAGE: 'コード ページ「{codepage}」は不明です。932 (日本語) や 1252 などの Windows コード ページ番号を指定してください。',
  E_CONNECT: '{server} に接続できません: {what}。アドレス、ポート、ネットワークを確認してください。',
  E_TLS: '{server} との TLS に失敗しました: {what}。サーバー名を確認してください。--insecure で検証を省けます (推奨しません)。',
  E_TARGET: 'サーバー {server} が拒否しました: {what}。',
  E_AUTH: '{server} に {user} としてサインインできませんでした: {what}。',
  E_STATE: 'チェックポイント {path} を使えません: {what}。',
  E_INTERRUPTED: '中断しました。「pst2imap resume」で続きから再開できます。',
  internalError: '予期しないエラー: {message}。--debug を付けて再実行し、詳細を報告してください。',
  warning: '警告: {message}',
};
