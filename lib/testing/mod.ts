/**
 * Helpers for tests that run real processes and servers: free ports,
 * polling, line-splitting of a child's output.
 *
 * @module
 */

export { freePort } from "./free_port.ts";
export { waitFor, type WaitForOptions } from "./wait_for.ts";
export { TextLineStream } from "./text_line_stream.ts";
