/**
 * Hiding credentials in settings shown in messages and logs.
 *
 * @module
 */

/**
 * Hides the password of every `user:password@` in a URL-like setting — one
 * URL, or a comma-separated list of servers as `FLOTILLA_BUS` and
 * `FLOTILLA_TRANSPORT` take them.
 *
 * @example
 * ```ts
 * redactPassword("postgres://app:hunter2@db/shop"); // "postgres://app:***@db/shop"
 * redactPassword("nats://a:pw@h1,b:pw@h2"); // "nats://a:***@h1,b:***@h2"
 * ```
 */
export function redactPassword(value: string): string {
  return value.replace(/\/\/([^/@:,]*):([^/@,]*)@/g, "//$1:***@").replace(
    /(^|,)([^/@:,]*):([^/@,]*)@/g,
    "$1$2:***@",
  );
}
