/**
 * The `back` fixture service of the registry tests; it has a data folder.
 *
 * @module
 */

import { serveRegistered } from "./_registered.ts";

await serveRegistered("back");
