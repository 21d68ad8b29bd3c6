/**
 * The notes service as a process, for the tests of graceful stop. Its slow
 * action, once started, finishes 300 ms later on its own.
 *
 * @module
 */

import { Logger } from "@flotilla/core";
import { serveService } from "../serve.ts";
import { createNotesService } from "./notes.ts";

const notes = createNotesService();
const logger = new Logger({ fields: { service: "notes" } });
void notes.slowStarted.then(() => {
  logger.info("slow started");
  setTimeout(notes.releaseSlow, 300);
});
await serveService(notes.service, { logger });
