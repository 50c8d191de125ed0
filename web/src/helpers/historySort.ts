import type { operations } from "@/api/schema";

// The History's sort, kept in the URL as `sort` ("-created_at"), sent to the API as `ordering`:
// the server sorts the whole list, so every page continues the one before it.

type ListQuery = NonNullable<operations["api_executions_list"]["parameters"]["query"]>;
export type OrderingValue = NonNullable<ListQuery["ordering"]>[number];
export type SortKey = Exclude<OrderingValue, `-${string}`>;

/** Every key the API sorts by (the generated schema's list: a key it drops fails the type check). */
export const SORT_KEYS: readonly SortKey[] = [
  "id",
  "created_at",
  "started_at",
  "completed_at",
  "execution_time",
  "memory_usage",
  "status",
  "script_name",
  "user",
];
export const DEFAULT_SORT = "-created_at";

function known(key: string): key is OrderingValue {
  return (SORT_KEYS as readonly string[]).includes(key.replace(/^-/, ""));
}

/**
 * The API's `ordering` for the URL's `sort` (one key, or several comma-separated, each with "-"
 * for descending). A sort the API would refuse (an old or edited link) gives the default order.
 */
export function orderingOf(sort: string): OrderingValue[] {
  const keys = sort
    .split(",")
    .map((key) => key.trim())
    .filter(Boolean);
  return keys.length && keys.every(known) ? keys : [DEFAULT_SORT];
}

export type TableOrder = "ascending" | "descending";

/** The table's header state for the URL's `sort`: its first key. */
export function tableSortOf(sort: string): { prop: string; order: TableOrder } {
  const first = orderingOf(sort)[0];
  return { prop: first.replace(/^-/, ""), order: first.startsWith("-") ? "descending" : "ascending" };
}

/** The URL's `sort` after a click on a header ("" when the click turned sorting off: the default). */
export function sortOf(prop: string | null, order: TableOrder | null): string {
  if (!prop || !order || !known(prop)) return "";
  const sort = `${order === "descending" ? "-" : ""}${prop}`;
  return sort === DEFAULT_SORT ? "" : sort;
}
