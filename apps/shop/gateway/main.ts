/**
 * The gateway's process: discovers order, inventory and payment through the
 * registry, calls them through the call pipeline, and serves the shop's
 * public API over HTTP until SIGTERM drains it. Stateless: no data folder.
 *
 * Touches only its port, its registry, its peers and its declared environment.
 *
 * @module
 */

import { bootService } from "@flotilla/runtime";
import { gatewayContract } from "../contracts/mod.ts";
import { createGatewayService } from "./app/service.ts";
import { createPeerClients } from "./infra/peer_clients.ts";

const node = await bootService(gatewayContract);
const peers = createPeerClients({
  inventory: node.peers.pipeline("inventory"),
  payment: node.peers.pipeline("payment"),
  order: node.peers.pipeline("order"),
  notification: node.peers.pipeline("notification"),
});
await node.serve(createGatewayService(peers));
