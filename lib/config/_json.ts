/**
 * Parsing a layer's JSON text. Private to the package.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/** Parses a layer's JSON text, or throws `INVALID_CONFIG` naming `source`. */
export function parseJsonLayer(text: string, source: string): unknown {
  try {
    return text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      "INVALID_CONFIG",
      `The configuration from ${source} is not valid JSON: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error, data: { source } },
    );
  }
}
