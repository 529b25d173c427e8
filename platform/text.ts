/** Characters as a person counts them: an emoji is one, not two UTF-16 code units. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
