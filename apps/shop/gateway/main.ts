/**
 * The gateway's process: builds clients of order, inventory and payment
 * from `FLOTILLA_PEER_<NAME>_URL` and serves the shop's public API over HTTP
 * until SIGTERM drains it. Stateless: no data folder.
 *
 * Touches only its port, its peers and its declared environment.
 *
 * @module
 */

import { Logger, peerUrlVariable, readServiceEnv } from "@flotilla/core";
import { httpCallHandler, serveService } from "@flotilla/http";
import { gatewayContract } from "../contracts/mod.ts";
import { createGatewayService } from "./app/service.ts";
import { createPeerClients } from "./infra/peer_clients.ts";

const env = readServiceEnv(gatewayContract);
const logger = new Logger({ level: env.logLevel, fields: { service: gatewayContract.name } });

const peers = createPeerClients({
  inventory: httpCallHandler({ baseUrl: peerUrl("inventory") }),
  payment: httpCallHandler({ baseUrl: peerUrl("payment") }),
  order: httpCallHandler({ baseUrl: peerUrl("order") }),
});
await serveService(createGatewayService(peers), { logger });

function peerUrl(peer: string): string {
  const url = env.peers[peer];
  if (url === undefined) {
    throw new RangeError(
      `Cannot start gateway as peer "${peer}" has no URL: ${peerUrlVariable(peer)} is unset`,
    );
  }
  return url;
}
