/**
 * Typed reads of the columns of a `node:sqlite` row.
 *
 * @module
 */

import type { SQLOutputValue } from "node:sqlite";

/** A row as `node:sqlite` returns it. */
export type Row = Record<string, SQLOutputValue>;

/** Reads a TEXT column, failing loudly on anything else. */
export function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== "string") {
    throw new TypeError(`Cannot read column "${column}" as text: got ${typeof value}`);
  }
  return value;
}

/** Reads an INTEGER column as a safe integer, failing loudly on anything else. */
export function integer(row: Row, column: string): number {
  const value = row[column];
  const number = typeof value === "bigint" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number)) {
    throw new TypeError(`Cannot read column "${column}" as an integer: got ${String(value)}`);
  }
  return number;
}
