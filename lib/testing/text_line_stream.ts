/**
 * Splits a text stream into lines (what `@std/streams`' TextLineStream does;
 * `@std` is not reachable here).
 *
 * @module
 */

/** A transform stream from text chunks to lines without their line ending. */
export class TextLineStream extends TransformStream<string, string> {
  /** Creates the stream. */
  constructor() {
    let buffer = "";
    super({
      transform(chunk, controller) {
        buffer += chunk;
        let index: number;
        while ((index = buffer.indexOf("\n")) >= 0) {
          controller.enqueue(buffer.slice(0, index).replace(/\r$/, ""));
          buffer = buffer.slice(index + 1);
        }
      },
      flush(controller) {
        if (buffer !== "") controller.enqueue(buffer);
      },
    });
  }
}
