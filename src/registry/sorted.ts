/** Orders for names and tags, and binary search over arrays sorted by them. */

/** Order by code unit (not locale order): repository names are lowercase already. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The spec's tag order: "lexical (i.e. case-insensitive alphanumeric)"; bytes break ties. */
export function compareTags(a: string, b: string): number {
  return compareBytes(a.toLowerCase(), b.toLowerCase()) || compareBytes(a, b);
}

/** First index whose name sorts after `value` in an array sorted by `compare`. */
export function upperBound(sorted: readonly string[], value: string, compare = compareBytes): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(sorted[mid] as string, value) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

export interface PageRequest {
  /** at most this many names */
  limit: number;
  /** names up to and including this one are skipped (the previous page's last) */
  last: string | null;
}

export interface Page {
  names: string[];
  /** the last name of this page when more remain, else null */
  next: string | null;
}

/** One page of a sorted list, as the spec's `n` and `last` ask for it. */
export function pageOf(sorted: readonly string[], request: PageRequest, compare = compareBytes): Page {
  const start = request.last === null ? 0 : upperBound(sorted, request.last, compare);
  const names = sorted.slice(start, start + request.limit);
  const more = start + request.limit < sorted.length && names.length > 0;
  return { names, next: more ? (names[names.length - 1] as string) : null };
}
