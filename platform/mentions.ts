/**
 * `@username` mentions in a caption or a comment: Instagram's username characters (letters,
 * digits, `_` and `.`, at most 30), not inside a word or an e-mail address, lower-cased, without
 * duplicates, at most `MAX_MENTIONS` (Instagram's own limit per caption or comment).
 */
export const MAX_MENTIONS = 20;

const MENTION = /(?<![A-Za-z0-9_.@])@([A-Za-z0-9_.]{1,30})/g;

export function mentionedUsernames(text: string | null | undefined): string[] {
  if (!text) return [];
  const names = new Set<string>();
  for (const match of text.matchAll(MENTION)) {
    const name = (match[1] as string).replace(/\.+$/, '').toLowerCase();
    if (name) names.add(name);
    if (names.size === MAX_MENTIONS) break;
  }
  return [...names];
}
