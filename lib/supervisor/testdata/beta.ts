/**
 * The beta fixture service: public, ready only when alpha answers.
 *
 * @module
 */

import { defineService, readServiceEnv } from "@flotilla/core";
import { serveService } from "@flotilla/http";
import { betaContract } from "./contracts.ts";

// Static peers: the tests run the fixture with FLOTILLA_REGISTRY=static.
const alpha = readServiceEnv(betaContract).peers.alpha![0]!;

await serveService(defineService(betaContract, {
  hello: async () => {
    const response = await fetch(`${alpha}/rpc/boots`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const { boots } = await response.json();
    return { text: "hello from beta", alphaBoots: boots };
  },
}, {
  readiness: [{
    name: "alpha",
    check: async () => {
      const response = await fetch(`${alpha}/readyz`);
      await response.body?.cancel();
      return response.ok;
    },
  }],
}));
