/**
 * Which PST folders a run takes: `--folder` and `--exclude` patterns over folder paths.
 *
 * Patterns are matched segment by segment, because a PST folder name may itself contain '/': write it
 * as '\/' in a pattern. Within a segment '*' is any run of characters and '?' one character; a segment
 * '**' is any number of folders, none included. A pattern without wildcards names a folder and takes its
 * subfolders with it ('Inbox' = 'Inbox' and 'Inbox/**'), which is what a person choosing a folder means.
 * Matching ignores case, as Outlook does for folder names.
 */

export interface FolderPattern {
  source: string;
  segments: string[];
  /** No wildcard: the folder and everything below it. */
  plain: boolean;
}

export function parsePattern(source: string): FolderPattern {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '\\' && source[i + 1] === '/') {
      current += '/';
      i++;
    } else if (char === '/') {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  const cleaned = segments.filter((segment, index) => segment !== '' || (index > 0 && index < segments.length - 1));
  return { source, segments: cleaned, plain: !/[*?]/.test(source) };
}

function segmentRegExp(segment: string): RegExp {
  const body = segment
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'iu');
}

function matchSegments(pattern: string[], path: string[]): boolean {
  if (pattern.length === 0) return path.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') {
    for (let skip = 0; skip <= path.length; skip++) if (matchSegments(rest, path.slice(skip))) return true;
    return false;
  }
  return path.length > 0 && segmentRegExp(head).test(path[0]) && matchSegments(rest, path.slice(1));
}

/** Does the pattern select the folder at `path`? */
export function matchesFolder(pattern: FolderPattern, path: string[]): boolean {
  if (pattern.plain) {
    return (
      pattern.segments.length <= path.length &&
      pattern.segments.every((segment, i) => segment.localeCompare(path[i], undefined, { sensitivity: 'accent' }) === 0)
    );
  }
  return matchSegments(pattern.segments, path);
}

/** Selected: matched by some --folder (or no --folder given), and by no --exclude. */
export function isSelected(path: string[], include: FolderPattern[], exclude: FolderPattern[]): boolean {
  const included = include.length === 0 || include.some((pattern) => matchesFolder(pattern, path));
  return included && !exclude.some((pattern) => matchesFolder(pattern, path));
}
