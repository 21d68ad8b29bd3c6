/**
 * Problem+json responses (RFC 9457).
 *
 * @module
 */

import { PROBLEM_CONTENT_TYPE, toProblem } from "@flotilla/core";

/** A problem+json response for any thrown value; unknown errors become a bare 500. */
export function problemResponse(
  error: unknown,
  extra: { instance?: string; traceId?: string } = {},
): Response {
  const problem = toProblem(error, extra);
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE },
  });
}
