// The error class of weft-crdt, imported by the generated bindings (see wasm/src/convert.rs).

/** Every error weft-crdt throws. `code` says what went wrong; the document is left unchanged. */
export class WeftError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   */
  constructor(message, code) {
    super(message);
    this.name = 'WeftError';
    this.code = code;
  }
}
