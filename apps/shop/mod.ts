/**
 * The shop, Flotilla's reference system: its contracts and its topology.
 *
 * @module
 */

export * from "./contracts/mod.ts";
export { shop } from "./topology.ts";
