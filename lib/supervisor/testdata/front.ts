/**
 * The `front` fixture service of the registry tests; it needs `back`.
 *
 * @module
 */

import { serveRegistered } from "./_registered.ts";

await serveRegistered("front");
