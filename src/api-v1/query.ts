/**
 * The list routes' query parameters: `q` (substring), `sort`, `page` (1-based) and `per_page`
 * (default 50, at most 500: larger asks get 500), and the paging fields and Link header of
 * their answers.
 */
import { HttpError } from "../api/errors.ts";
import { RegistryError } from "../oci/errors.ts";

export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 500;
/** a page number beyond this is refused: no list is that long */
const MAX_PAGE_NUMBER = 1_000_000_000;

export interface ListQuery<Sort extends string> {
  q: string;
  sort: Sort;
  page: number;
  perPage: number;
}

function positive(url: URL, name: string, fallback: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PAGE_NUMBER) {
    const shown = raw.slice(0, 20);
    throw new RegistryError("PAGINATION_NUMBER_INVALID", {
      message: `Invalid ${name}="${shown}": a whole number from 1`,
      detail: { [name]: shown },
    });
  }
  return Number(raw);
}

/**
 * @throws RegistryError PAGINATION_NUMBER_INVALID for a page or per_page that is not a whole
 *   number from 1; HttpError UNSUPPORTED (400) for a sort not in `sorts`
 */
export function listQuery<Sort extends string>(url: URL, sorts: readonly Sort[]): ListQuery<Sort> {
  const page = positive(url, "page", 1);
  const perPage = Math.min(positive(url, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE);
  const requested = url.searchParams.get("sort") ?? sorts[0];
  const sort = sorts.find((candidate) => candidate === requested);
  if (sort === undefined) {
    const shown = (requested ?? "").slice(0, 20);
    throw new HttpError("UNSUPPORTED", { status: 400, message: `Unknown sort "${shown}": use ${sorts.join(", ")}`, detail: { sort: shown } });
  }
  return { q: url.searchParams.get("q") ?? "", sort, page, perPage };
}

/** The paging fields every list answer carries. */
export function pageFields(query: ListQuery<string>, total: number): { page: number; per_page: number; total: number } {
  return { page: query.page, per_page: query.perPage, total };
}

/** The next page's path and query (the same q, sort and per_page), or null on the last page. */
export function nextPage(url: URL, query: ListQuery<string>, total: number): string | null {
  if (query.page * query.perPage >= total) return null;
  const params = new URLSearchParams();
  if (query.q !== "") params.set("q", query.q);
  params.set("sort", query.sort);
  params.set("page", String(query.page + 1));
  params.set("per_page", String(query.perPage));
  return `${url.pathname}?${params}`;
}
