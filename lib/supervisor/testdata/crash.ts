/**
 * A fixture service that fails at once, as a bad deployment would.
 *
 * @module
 */

// deno-lint-ignore no-console
console.error("crash fixture: cannot start");
Deno.exit(3);
